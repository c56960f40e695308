/** One progress-bar update read from a rank's output (tqdm's default format or Ultralytics' own bar). */
export interface BarUpdate {
  /** Which printer drew it. */
  format: 'tqdm' | 'ultralytics';
  /** The bar's description (text before the percentage), without colours; '' when it has none. */
  desc: string;
  n: number;
  total: number;
  /** The unit of `n`/`total` and of `rate` (`it`, `B`, `img`, …). */
  unit: string;
  /** Units per second, when the bar shows a rate. */
  rate: number | undefined;
  /** Seconds since the bar started, when shown. */
  elapsed: number | undefined;
  /** Seconds left: as the bar shows it, else estimated from elapsed × (total − n) / n; undefined when unknown. */
  remaining: number | undefined;
}

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;?]*[A-Za-z]/g;
const SI: Readonly<Record<string, number>> = { '': 1, k: 1e3, K: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15 };

const NUM = String.raw`(\d+(?:\.\d+)?)([kKMGTP]?)`;
// tqdm's format_interval: `MM:SS`, `H:MM:SS`, or `?` before anything is known.
const TQDM_TIME = String.raw`(?:\d+d )?(?:\d+:)?\d{2}:\d{2}`;
// `{desc}: {pct:3.0f}%|{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}, {rate_fmt}{postfix}]`
const TQDM = new RegExp(
  String.raw`^(?:(.*?): )?\s*(\d{1,3})%\|[^|]*\| *${NUM}/${NUM}([A-Za-z]*) \[(${TQDM_TIME})<(${TQDM_TIME}|\?), *(?:\?([A-Za-z]*)\/s|(\d+(?:\.\d+)?)([kKMGTP]?)(s?)([A-Za-z]*)\/([A-Za-z]+))(?:,.*)?\]\s*$`,
);
// Ultralytics' _format_time: `0.4s`, `1:05`, `1:02:03`.
const ULTRA_TIME = String.raw`\d+(?:\.\d+)?s|\d+:\d{2}(?::\d{2})?`;
// `{desc}: {pct}% {bar} {n}/{total} {rate} {elapsed}[<{remaining}]`, the bar drawn with ━ ─ ╸ (rate may be empty).
const ULTRA = new RegExp(
  String.raw`^(.*?): +(\d{1,3})% [━─╸]+ ${NUM}/${NUM}([A-Za-z]*) (?:(\d+(?:\.\d+)?)([KMG]?)([A-Za-z]+)/s)? ?(${ULTRA_TIME})(?:<(${ULTRA_TIME}))?\s*$`,
);

function scaled(value: string | undefined, suffix: string | undefined): number {
  return Number(value) * (SI[suffix ?? ''] ?? 1);
}

function tqdmSeconds(text: string): number | undefined {
  if (text === '?') return undefined;
  let days = 0;
  const d = /^(\d+)d (.*)$/.exec(text);
  if (d) {
    days = Number(d[1]);
    text = d[2] as string;
  }
  return days * 86400 + text.split(':').reduce((acc, part) => acc * 60 + Number(part), 0);
}

function ultraSeconds(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (text.endsWith('s')) return Number(text.slice(0, -1));
  return text.split(':').reduce((acc, part) => acc * 60 + Number(part), 0);
}

function estimate(n: number, total: number, elapsed: number | undefined): number | undefined {
  if (elapsed === undefined || n <= 0 || n >= total) return n >= total ? 0 : undefined;
  return Math.round((elapsed * (total - n) * 1000) / n) / 1000;
}

/** The text without its ANSI escape sequences (colours, `ESC[K`). */
export function stripAnsi(text: string): string {
  return text.includes('\u001b') ? text.replace(ANSI, '') : text;
}

/**
 * Reads one tqdm (default format) or Ultralytics bar from a line (ANSI colours allowed); undefined for any other line.
 */
export function parseBar(line: string): BarUpdate | undefined {
  const text = stripAnsi(line);
  const pct = text.indexOf('%');
  if (pct === -1) return undefined;
  const after = text.charCodeAt(pct + 1);
  if (after === 0x7c /* | */) {
    const m = TQDM.exec(text);
    if (!m) return undefined;
    const n = scaled(m[3], m[4]);
    const total = scaled(m[5], m[6]);
    if (!(total > 0)) return undefined;
    const elapsed = tqdmSeconds(m[8] as string);
    let rate: number | undefined;
    let unit = m[10] || 'it';
    if (m[11] !== undefined) {
      const value = scaled(m[11], m[12]);
      // `2.03s/it` is tqdm's inverse rate (slower than one unit a second).
      const inverse = m[13] === 's' && m[14] === '';
      rate = inverse ? (value > 0 ? 1 / value : undefined) : value;
      unit = inverse ? (m[15] as string) : `${m[13] ?? ''}${m[14] ?? ''}` || 'it';
    }
    return {
      format: 'tqdm',
      desc: (m[1] ?? '').trim(),
      n,
      total,
      unit,
      rate,
      elapsed,
      remaining: tqdmSeconds(m[9] as string) ?? estimate(n, total, elapsed),
    };
  }
  if (after === 0x20 /* space */) {
    const m = ULTRA.exec(text);
    if (!m) return undefined;
    const total = scaled(m[5], m[6]);
    // Ultralytics drops the unit prefix of `n` when it equals the total's (`5.4/5.4MB`).
    const n = scaled(m[3], m[4] || (m[7] === 'B' ? m[6] : ''));
    if (!(total > 0)) return undefined;
    const elapsed = ultraSeconds(m[11]);
    return {
      format: 'ultralytics',
      desc: (m[1] as string).trim(),
      n,
      total,
      unit: m[7] || (m[10] ?? 'it'),
      rate: m[8] === undefined ? undefined : scaled(m[8], m[9]),
      elapsed,
      remaining: ultraSeconds(m[12]) ?? estimate(n, total, elapsed),
    };
  }
  return undefined;
}
