import { stripVTControlCharacters } from 'node:util';
import stringWidth from 'string-width';

/** `1.2s`, `3m04s`, `1h02m`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.floor(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** Columns padded to the widest cell; the first row is the header. */
export function table(rows: readonly (readonly string[])[], indent = ''): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, visibleLength(cell))));
  return rows
    .map(
      (row) =>
        indent +
        row
          .map((cell, i) => (i === row.length - 1 ? cell : cell + ' '.repeat((widths[i] ?? 0) - visibleLength(cell))))
          .join('  ')
          .trimEnd(),
    )
    .join('\n');
}

/** Terminal columns, not UTF-16 units: a CJK character takes two, an ANSI colour code none. */
export function visibleLength(text: string): number {
  // Printable ASCII (the usual cell) is one column a character; string-width's Unicode tables (≈ 20 ms to build)
  // are for the rest.
  const plain = stripVTControlCharacters(text);
  return /^[\x20-\x7e]*$/.test(plain) ? plain.length : stringWidth(text);
}
