import { UsageError } from '../errors.js';

const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/**
 * Quotes one argument for a POSIX shell so that it reaches the command as exactly this string:
 * no expansion, globbing, word splitting or command substitution. Safe words are left bare.
 */
export function shellQuote(arg: string): string {
  if (typeof arg !== 'string') throw new UsageError(`Expected a string to shell-quote, got ${typeof arg}.`);
  if (arg.includes('\0'))
    throw new UsageError(`Cannot pass an argument containing a NUL byte to a shell: ${JSON.stringify(arg)}.`);
  if (SAFE.test(arg)) return arg;
  // Inside single quotes nothing is special; a quote itself is closed, escaped, and reopened.
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

/** Quotes every argument and joins them with spaces. */
export function shellJoin(args: readonly string[]): string {
  return args.map(shellQuote).join(' ');
}
