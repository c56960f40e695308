// torchrun accepts `--nproc_per_node` and `--nproc-per-node` (and `--opt=value`); commander knows one
// spelling. Rewrites only the tokens before the script: everything after it belongs to the script.

/** Subcommands, recognised only as the first argument (a script named `train` is run as `./train`). */
export const SUBCOMMANDS = [
  'train',
  'doctor',
  'gc',
  'slurm',
  'k8s',
  'resume',
  'ps',
  'logs',
  'show',
  'stop',
  'stacks',
  'ui',
  'rm',
] as const;
export type Subcommand = (typeof SUBCOMMANDS)[number];

/**
 * Returns `tokens` with `--a_b` / `--a_b=v` rewritten to `--a-b` / `--a-b=v` up to the first positional
 * (the script, module, command or trainer), `--` included. `valueFlags` are the long flags that take a
 * value, so that value is not mistaken for the script.
 */
export function normalizeFlagSpelling(
  tokens: readonly string[],
  valueFlags: ReadonlySet<string>,
  shortValueFlags: ReadonlySet<string> = new Set(),
): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < tokens.length) {
    const token = tokens[i] as string;
    if (token === '--' || !token.startsWith('-') || token === '-') break;
    if (token.startsWith('--')) {
      const eq = token.indexOf('=');
      const name = (eq === -1 ? token : token.slice(0, eq)).replace(/_/g, '-');
      out.push(eq === -1 ? name : name + token.slice(eq));
      i += 1;
      if (eq === -1 && valueFlags.has(name) && i < tokens.length) {
        out.push(tokens[i] as string);
        i += 1;
      }
    } else {
      out.push(token);
      i += 1;
      if (shortValueFlags.has(token) && i < tokens.length) {
        out.push(tokens[i] as string);
        i += 1;
      }
    }
  }
  return out.concat(tokens.slice(i));
}
