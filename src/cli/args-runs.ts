import { UsageError } from '../errors.js';
import { DEFAULT_KEEP_RUNS, DEFAULT_MAX_AGE_DAYS } from '../store/gc-defaults.js';
import { parseInteger, parseSecondsToMs } from './flags.js';
import type { Command, OptionValues } from 'commander';
import { noArguments, parseCommand, type Printed } from './subcommand.js';

// The run store's subcommands: ps, logs, show, stop, and gc's pruning flags.

export type RunsCommand =
  | { kind: 'ps'; all: boolean; json: boolean }
  | { kind: 'logs'; id: string; follow: boolean; rank: number | undefined; tail: number | undefined; json: boolean }
  | { kind: 'show'; id: string; json: boolean }
  | { kind: 'stop'; id: string; kill: boolean; timeoutMs: number | undefined }
  | { kind: 'stacks'; id: string }
  | { kind: 'rm'; ids: string[] }
  | { kind: 'gc'; dryRun: boolean; maxAgeDays: number; keep: number };

function count(flag: string, value: string, min: number): number {
  const n = parseInteger(flag, value);
  if (n < min) throw new UsageError(`${flag} expects an integer of at least ${min}, got \`${value}\`.`, flag);
  return n;
}

/** A flag's value through `parse`; undefined when the flag was not given. */
function given<T>(value: unknown, parse: (text: string) => T): T | undefined {
  return value === undefined ? undefined : parse(value as string);
}

/** The one id argument of logs/show/stop. */
function oneId(name: string, args: readonly string[]): string {
  if (args.length === 0)
    throw new UsageError(
      `\`ddprun ${name}\` needs a run id (or a unique prefix of one), a run name, or \`last\`. See \`ddprun ps --all\` for the runs.`,
      'id',
    );
  if (args.length > 1)
    throw new UsageError(
      `\`ddprun ${name}\` takes one run id, got \`${args.join(' ')}\`. See \`ddprun ${name} --help\`.`,
    );
  return args[0] as string;
}

/**
 * A subcommand that takes one run id (flags may come before or after it: `ddprun logs <id> -f`): its command is
 * `{ kind: <name>, id, …what read returns }`.
 */
function parseWithId<K extends string, T>(
  name: K,
  argv: readonly string[],
  build: (command: Command) => Command,
  read: (options: OptionValues) => T,
): ({ kind: K; id: string } & T) | Printed {
  return parseCommand(
    name,
    argv,
    (command) =>
      build(
        command
          .passThroughOptions(false)
          .allowExcessArguments(true)
          .argument('[id]', 'the run id, a unique prefix of it, the run name, or last (the newest run)')
          .usage('<id> [options]'),
      ),
    (options, args) => ({ kind: name, id: oneId(name, args), ...read(options) }),
  );
}

export function parsePs(argv: readonly string[]): RunsCommand | Printed {
  return parseCommand(
    'ps',
    argv,
    (command) =>
      command
        .description('List running runs (with --all, finished ones too, newest first).')
        .option('-a, --all', 'finished runs too: succeeded, failed, stopped, lost')
        .option('--json', 'one JSON object per run and line'),
    (o, args) => {
      noArguments('ps', args);
      return { kind: 'ps', all: Boolean(o.all), json: Boolean(o.json) };
    },
  );
}

export function parseLogs(argv: readonly string[]): RunsCommand | Printed {
  return parseWithId(
    'logs',
    argv,
    (command) =>
      command
        .description("A run's output, ranks prefixed as on the console (every attempt, rank by rank).")
        .option(
          '-f, --follow',
          "follow a live run until it ends; exit with the run's exit code (Ctrl-C stops following)",
        )
        .option('--rank <n>', 'only this rank')
        .option('--tail <n>', 'only the last N lines of each rank stream')
        .option('--json', 'one JSON object per line: { attempt, rank, stream, text }'),
    (o) => ({
      follow: Boolean(o.follow),
      rank: given(o.rank, (v) => count('--rank', v, 0)),
      tail: given(o.tail, (v) => count('--tail', v, 0)),
      json: Boolean(o.json),
    }),
  );
}

export function parseShow(argv: readonly string[]): RunsCommand | Printed {
  return parseWithId(
    'show',
    argv,
    (command) =>
      command
        .description("A run's summary as the console shows it at the end: per-rank table, attempts, root cause.")
        .option('--json', 'the run record as JSON'),
    (o) => ({ json: Boolean(o.json) }),
  );
}

export function parseStacks(argv: readonly string[]): RunsCommand | Printed {
  return parseWithId(
    'stacks',
    argv,
    (command) =>
      command
        .usage('<id>')
        .description(
          "Print every rank's Python stack (all threads) of a live run started with --stack-dumps or --hang-timeout; of any other live run, what the kernel says each rank waits in.",
        ),
    () => ({}),
  );
}

export function parseRm(argv: readonly string[]): RunsCommand | Printed {
  return parseCommand(
    'rm',
    argv,
    (command) =>
      command
        .allowExcessArguments(true)
        .argument('[ids...]', 'run ids, unique prefixes, names, or last')
        .usage('<id|name>…')
        .description(
          "Remove finished runs from the run store (their folder under the state dir: record, events, logs). A running run is refused (stop it first); the run's --log-dir copy and training folder are left where they are.",
        ),
    (_o, args) => {
      if (args.length === 0)
        throw new UsageError('`ddprun rm` needs a run id, name or `last`. See `ddprun ps --all` for the runs.', 'id');
      return { kind: 'rm', ids: args };
    },
  );
}

export function parseStop(argv: readonly string[]): RunsCommand | Printed {
  return parseWithId(
    'stop',
    argv,
    (command) =>
      command
        .description('Stop a running run as Ctrl-C would (SIGTERM to its launcher) and wait until it has ended.')
        .option('--kill', 'a second stop at once: the launcher SIGKILLs every rank')
        .option('--timeout <seconds>', "how long to wait for the end (default: the run's grace period + 30)"),
    (o) => ({
      kill: Boolean(o.kill),
      timeoutMs: given(o.timeout, (v) => parseSecondsToMs('--timeout', v)),
    }),
  );
}

export function parseGc(argv: readonly string[]): RunsCommand | Printed {
  return parseCommand(
    'gc',
    argv,
    (command) =>
      command
        .description(
          `Clean up after launches that were killed (SIGKILL), then prune the run store. For each ddprun run folder in $TMPDIR (ddprun-<pid>-<hex>) whose launcher is dead, it SIGKILLs the processes that survived it (the ranks' children, found by the run's mark in their environment) and removes the folder; it removes the temp entry files (_temp_*.py) of dead launchers from the Ultralytics DDP folder; and it prunes finished runs from the run store: those that ended more than ${DEFAULT_MAX_AGE_DAYS} days ago, and those beyond the newest ${DEFAULT_KEEP_RUNS}. A live launch's folder, files and processes, and a running run, are never touched.`,
        )
        .option('--dry-run', 'list all of it (run folders, the processes it would end, entry files, runs); do nothing')
        .option('--max-age <days>', `prune finished runs older than this (default: ${DEFAULT_MAX_AGE_DAYS})`)
        .option('--keep <n>', `keep at most this many finished runs (default: ${DEFAULT_KEEP_RUNS})`),
    (o, args) => {
      noArguments('gc', args);
      return {
        kind: 'gc',
        dryRun: Boolean(o.dryRun),
        maxAgeDays: given(o.maxAge, (v) => count('--max-age', v, 0)) ?? DEFAULT_MAX_AGE_DAYS,
        keep: given(o.keep, (v) => count('--keep', v, 0)) ?? DEFAULT_KEEP_RUNS,
      };
    },
  );
}
