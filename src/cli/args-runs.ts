import { UsageError } from '../errors.js';
import { DEFAULT_KEEP_RUNS, DEFAULT_MAX_AGE_DAYS } from '../store/gc.js';
import { parseInteger, parseSecondsToMs } from './flags.js';
import { newCommand, runCommander } from './flag-specs.js';

// The run store's subcommands: ps, logs, show, stop, and gc's pruning flags.

export type RunsCommand =
  | { kind: 'ps'; all: boolean; json: boolean }
  | { kind: 'logs'; id: string; follow: boolean; rank: number | undefined; tail: number | undefined; json: boolean }
  | { kind: 'show'; id: string; json: boolean }
  | { kind: 'stop'; id: string; kill: boolean; timeoutMs: number | undefined }
  | { kind: 'gc'; dryRun: boolean; maxAgeDays: number; keep: number };

type Printed = { kind: 'print'; text: string };

function count(flag: string, value: string, min: number): number {
  const n = parseInteger(flag, value);
  if (n < min) throw new UsageError(`${flag} expects an integer of at least ${min}, got \`${value}\`.`, flag);
  return n;
}

/** A subcommand that takes an id: flags may come before or after it (`ddprun logs <id> -f`). */
function runsCommand(name: string, captured: { out: string }) {
  return newCommand(name, captured).passThroughOptions(false).allowExcessArguments(true);
}

/** The one id argument of logs/show/stop. */
function oneId(name: string, args: readonly string[]): string {
  if (args.length === 0)
    throw new UsageError(
      `\`ddprun ${name}\` needs a run id (or a unique prefix of one). See \`ddprun ps --all\` for the runs.`,
      'id',
    );
  if (args.length > 1)
    throw new UsageError(
      `\`ddprun ${name}\` takes one run id, got \`${args.join(' ')}\`. See \`ddprun ${name} --help\`.`,
    );
  return args[0] as string;
}

export function parsePs(argv: readonly string[]): RunsCommand | Printed {
  const captured = { out: '' };
  const command = newCommand('ps', captured)
    .description('List running runs (with --all, finished ones too, newest first).')
    .option('-a, --all', 'finished runs too: succeeded, failed, stopped, lost')
    .option('--json', 'one JSON object per run and line');
  const printed = runCommander(command, [...argv], captured);
  if (printed) return printed;
  if (command.args.length > 0)
    throw new UsageError(
      `\`ddprun ps\` takes no arguments, got \`${command.args.join(' ')}\`. See \`ddprun ps --help\`.`,
    );
  const o = command.opts();
  return { kind: 'ps', all: Boolean(o.all), json: Boolean(o.json) };
}

export function parseLogs(argv: readonly string[]): RunsCommand | Printed {
  const captured = { out: '' };
  const command = runsCommand('logs', captured)
    .usage('<id> [options]')
    .description("A run's output, ranks prefixed as on the console (every attempt, rank by rank).")
    .argument('[id]', 'the run id, or a unique prefix of it')
    .option('-f, --follow', "follow a live run until it ends; exit with the run's exit code (Ctrl-C stops following)")
    .option('--rank <n>', 'only this rank')
    .option('--tail <n>', 'only the last N lines of each rank stream')
    .option('--json', 'one JSON object per line: { attempt, rank, stream, text }');
  const printed = runCommander(command, [...argv], captured);
  if (printed) return printed;
  const o = command.opts();
  return {
    kind: 'logs',
    id: oneId('logs', command.args),
    follow: Boolean(o.follow),
    rank: o.rank === undefined ? undefined : count('--rank', o.rank as string, 0),
    tail: o.tail === undefined ? undefined : count('--tail', o.tail as string, 0),
    json: Boolean(o.json),
  };
}

export function parseShow(argv: readonly string[]): RunsCommand | Printed {
  const captured = { out: '' };
  const command = runsCommand('show', captured)
    .usage('<id> [options]')
    .description("A run's summary as the console shows it at the end: per-rank table, attempts, root cause.")
    .argument('[id]', 'the run id, or a unique prefix of it')
    .option('--json', 'the run record as JSON');
  const printed = runCommander(command, [...argv], captured);
  if (printed) return printed;
  return { kind: 'show', id: oneId('show', command.args), json: Boolean(command.opts().json) };
}

export function parseStop(argv: readonly string[]): RunsCommand | Printed {
  const captured = { out: '' };
  const command = runsCommand('stop', captured)
    .usage('<id> [options]')
    .description('Stop a running run as Ctrl-C would (SIGTERM to its launcher) and wait until it has ended.')
    .argument('[id]', 'the run id, or a unique prefix of it')
    .option('--kill', 'a second stop at once: the launcher SIGKILLs every rank')
    .option('--timeout <seconds>', "how long to wait for the end (default: the run's grace period + 30)");
  const printed = runCommander(command, [...argv], captured);
  if (printed) return printed;
  const o = command.opts();
  return {
    kind: 'stop',
    id: oneId('stop', command.args),
    kill: Boolean(o.kill),
    timeoutMs: o.timeout === undefined ? undefined : parseSecondsToMs('--timeout', o.timeout as string),
  };
}

export function parseGc(argv: readonly string[]): RunsCommand | Printed {
  const captured = { out: '' };
  const command = newCommand('gc', captured)
    .description(
      `Remove temp entry files whose launcher is no longer alive, and prune finished runs from the run store: those that ended more than ${DEFAULT_MAX_AGE_DAYS} days ago, and those beyond the newest ${DEFAULT_KEEP_RUNS}. A running run is never removed.`,
    )
    .option('--dry-run', 'list what would be removed; remove nothing')
    .option('--max-age <days>', `prune finished runs older than this (default: ${DEFAULT_MAX_AGE_DAYS})`)
    .option('--keep <n>', `keep at most this many finished runs (default: ${DEFAULT_KEEP_RUNS})`);
  const printed = runCommander(command, [...argv], captured);
  if (printed) return printed;
  if (command.args.length > 0)
    throw new UsageError(
      `\`ddprun gc\` takes no arguments, got \`${command.args.join(' ')}\`. See \`ddprun gc --help\`.`,
    );
  const o = command.opts();
  return {
    kind: 'gc',
    dryRun: Boolean(o.dryRun),
    maxAgeDays: o.maxAge === undefined ? DEFAULT_MAX_AGE_DAYS : count('--max-age', o.maxAge as string, 0),
    keep: o.keep === undefined ? DEFAULT_KEEP_RUNS : count('--keep', o.keep as string, 0),
  };
}
