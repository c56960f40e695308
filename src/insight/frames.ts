/** One line of a faulthandler dump: `  File "train.py", line 42 in step`. */
export interface Frame {
  func: string;
  file: string;
  line: number;
}

const FRAME = /^\s*File "([^"]+)", line (\d+) in (\S+)/;
const LIBRARY = /\/(site-packages|dist-packages)\/|\/lib\/python\d[\d.]*\/|^<frozen /;

/** The frames of one thread's faulthandler dump, innermost first (faulthandler prints "most recent call first"). */
export function parseFrames(text: string): Frame[] {
  const frames: Frame[] = [];
  for (const line of text.split('\n')) {
    const m = FRAME.exec(line);
    if (m) frames.push({ file: m[1]!, line: Number(m[2]), func: m[3]! });
    else if (frames.length > 0 && !line.trim()) break;
  }
  return frames;
}

function short(frame: Frame): string {
  return `${frame.file.split('/').slice(-1)[0]}:${frame.line}`;
}

/**
 * Where a thread is, as a person reads it: "`string_at` (__init__.py:519), called from `crash` at train.py:17", or
 * "`crash` at train.py:17" when the innermost frame is the user's own code.
 */
export function describeWhere(frames: readonly Frame[]): string {
  const inner = frames[0];
  if (!inner) return '';
  const user = frames.find((f) => !LIBRARY.test(f.file));
  if (!user || user === inner) return `\`${inner.func}\` at ${short(inner)}`;
  return `\`${inner.func}\` (${short(inner)}), called from \`${user.func}\` at ${short(user)}`;
}
