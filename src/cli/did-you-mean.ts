import { existsSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { defaultCwd } from '../os/cwd.js';
import { SUBCOMMANDS } from './argv.js';

// `ddprun trian x.py` is a launch of a script named `trian` (any first word that is not a subcommand is one); when no
// such file exists and the word is a typo of a subcommand, say which one was meant instead of "no such script".

/** Edit distance with adjacent transpositions counted as one edit (`trian` → `train` is 1). */
export function typoDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const row = d[i] as number[];
      const up = d[i - 1] as number[];
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min((up[j] as number) + 1, (row[j - 1] as number) + 1, (up[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        row[j] = Math.min(row[j] as number, ((d[i - 2] as number[])[j - 2] as number) + 1);
    }
  }
  return (d[a.length] as number[])[b.length] as number;
}

/** The subcommand `word` is a likely typo of (one edit for short words, two for longer ones), if any. */
export function closestSubcommand(word: string): string | undefined {
  if (!/^[a-z-]+$/i.test(word)) return undefined;
  const limit = word.length <= 4 ? 1 : 2;
  let best: { name: string; distance: number } | undefined;
  for (const name of [...SUBCOMMANDS, 'help']) {
    const distance = typoDistance(word.toLowerCase(), name);
    if (distance <= limit && (!best || distance < best.distance)) best = { name, distance };
  }
  return best?.name;
}

/**
 * Throws a usage error naming the subcommand meant when the launch's script is a bare word that is no file (in
 * `cwd`) and is a typo of a subcommand. An existing file of that name is always launched.
 */
export function refuseSubcommandTypo(script: string, cwd?: string): void {
  const meant = closestSubcommand(script);
  // The cwd is looked up only for a typo: a deleted launch directory is the launch's own error to report.
  if (!meant || existsSync(path.resolve(cwd ?? defaultCwd(), script))) return;
  throw new UsageError(
    `Unknown command \`${script}\`, and no file of that name to run. Did you mean \`ddprun ${meant}\`? (See \`ddprun --help\`.)`,
    'script',
  );
}
