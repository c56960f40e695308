import { UsageError } from '../errors.js';
import { SLURM_VALUE_FLAGS } from './args-slurm.js';
import { SUBCOMMANDS } from './argv.js';
import { VALUE_FLAGS } from './flag-specs.js';

/** The conventions every command shares, read before a command parses its own flags. */
export interface GlobalFlags {
  /** The command line for parseCli: `help [command]` and `-v` rewritten, `--verbose` taken out. */
  argv: string[];
  /** `--verbose`: an error is printed with its stack trace (as `DDPRUN_DEBUG=1` does). */
  verbose: boolean;
}

/** Where ddprun's own flags end: at `--`, the first positional (script, trainer) or the module after `-m`. */
function ownFlagsEnd(tokens: readonly string[], valueFlags: ReadonlySet<string>): number {
  let i = 0;
  while (i < tokens.length) {
    const token = tokens[i] as string;
    if (token === '--' || !token.startsWith('-') || token === '-') return i;
    if (token === '-m' || token === '--module') return i;
    const name = token.split('=')[0]?.replace(/_/g, '-') ?? token;
    i += !token.includes('=') && valueFlags.has(name) ? 2 : 1;
  }
  return tokens.length;
}

/**
 * `ddprun help [command]` is `ddprun [command] --help`; `ddprun -v` is `ddprun --version`; `--verbose` among ddprun's
 * own flags (never among the script's arguments, which pass untouched) asks for stack traces.
 */
export function readGlobalFlags(argv: readonly string[]): GlobalFlags {
  const [first, ...rest] = argv;
  if (first === 'help') {
    const [topic, ...extra] = rest;
    if (topic === undefined) return { argv: ['--help'], verbose: false };
    if (!(SUBCOMMANDS as readonly string[]).includes(topic) || extra.length > 0)
      throw new UsageError(
        `\`ddprun help\` takes one of ${SUBCOMMANDS.join(', ')}, got \`${rest.join(' ')}\`. See \`ddprun help\`.`,
      );
    return { argv: [topic, '--help'], verbose: false };
  }
  if (first === '-v' && rest.length === 0) return { argv: ['--version'], verbose: false };
  const sub = (SUBCOMMANDS as readonly string[]).includes(first ?? '') ? 1 : 0;
  const valueFlags = first === 'slurm' ? new Set([...VALUE_FLAGS, ...SLURM_VALUE_FLAGS]) : VALUE_FLAGS;
  const end = sub + ownFlagsEnd(argv.slice(sub), valueFlags);
  const own = argv.slice(0, end);
  const verbose = own.includes('--verbose');
  return { argv: verbose ? [...own.filter((t) => t !== '--verbose'), ...argv.slice(end)] : [...argv], verbose };
}
