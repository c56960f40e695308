// What the store holds came from ranks, scripts and records anyone could write: a rank's OSC 52 would set the
// clipboard of whoever runs `ddprun logs`, an OSC 0 retitle their window, a cursor movement hide a line. Text bound
// for a terminal keeps its colours (SGR, `ESC [ … m`, as the live console showed them) and has every other control
// character shown in caret notation (`^[`, `^G`; a C1 control as `M-^[`, like `cat -v`), so the rest of a sequence
// is inert text. To a pipe or a file the bytes stay exact.

// eslint-disable-next-line no-control-regex
const CONTROL = /\x1b\[[0-9;:]*m|[\x00-\x08\x0b-\x1f\x7f-\x9f]/g;

function caret(char: string): string {
  const code = char.charCodeAt(0);
  if (code === 0x7f) return '^?';
  return code < 0x20 ? `^${String.fromCharCode(code + 0x40)}` : `M-^${String.fromCharCode(code - 0x80 + 0x40)}`;
}

/** The text with its colour sequences kept and every other control character made visible (tab and newline kept). */
export function terminalSafe(text: string): string {
  return text.replace(CONTROL, (match) => (match.length > 1 ? match : caret(match)));
}

/** `text` as it may go to `stream`: made terminal-safe when the stream is a terminal, exact otherwise. */
export function forStream(stream: { isTTY?: boolean }, text: string): string {
  return stream.isTTY ? terminalSafe(text) : text;
}
