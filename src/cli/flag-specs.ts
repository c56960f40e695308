import { Command, CommanderError, Option } from 'commander';
import { UsageError } from '../errors.js';
import type { LaunchOptions } from '../launch/types.js';
import {
  parseInteger,
  parseNnodes,
  parseNprocPerNode,
  parseRankList,
  parseSecondsToMs,
  parseStdSpec,
} from './flags.js';

/** How the CLI reports, besides what it launches. */
export interface OutputFlags {
  /** Print the plan, run nothing. */
  dryRun: boolean;
  /** One JSON event per line on stdout; human output on stderr. */
  json: boolean;
  /** No status line and no summary. */
  quiet: boolean;
}

export type Parse = (flag: string, value: string) => unknown;
export interface Spec {
  flags: string;
  description: string;
  parse?: Parse;
  choices?: string[];
  /** The flag may be given several times; its values are collected in order. */
  repeat?: boolean;
}

// torchrun's flags (both spellings accepted, see argv.ts) plus ddprun's own.
export const LAUNCH_FLAGS: Spec[] = [
  {
    flags: '--nproc-per-node <n>',
    description: 'ranks on this node: a number, or auto (GPUs if CUDA is available, else CPUs), gpu, cpu (default: 1)',
    parse: parseNprocPerNode,
  },
  {
    flags: '--nnodes <n>',
    description: 'nodes in the job, or MIN:MAX with --backend torchrun (default: 1)',
    parse: parseNnodes,
  },
  { flags: '--node-rank <r>', description: 'rank of this node, 0 … nnodes-1 (default: 0)', parse: parseInteger },
  { flags: '--master-addr <host>', description: 'address where rank 0 hosts the store (default: 127.0.0.1)' },
  {
    flags: '--master-port <port>',
    description: 'port of that store, 1-65535 (default: a free port; needed with several nodes)',
    parse: parseInteger,
  },
  {
    flags: '--standalone',
    description: "single node, rendezvous on localhost with a free port (torchrun's --standalone)",
  },
  {
    flags: '--max-restarts <n>',
    description: 'restarts of the whole group after a failure (default: 0)',
    parse: parseInteger,
  },
  { flags: '--run-id <id>', description: 'TORCHELASTIC_RUN_ID (default: none)' },
  { flags: '--log-dir <dir>', description: 'per-rank logs in DIR/attempt_<k>/<rank>/stdout.log|stderr.log' },
  {
    flags: '--redirects <spec>',
    description: 'streams sent to log files only: 0 none, 1 stdout, 2 stderr, 3 both, or per rank like 0:1,1:2',
    parse: parseStdSpec,
  },
  {
    flags: '--tee <spec>',
    description: 'streams sent to log files and the console (same syntax as --redirects)',
    parse: parseStdSpec,
  },
  {
    flags: '--local-ranks-filter <ranks>',
    description: 'local ranks whose output is shown, e.g. 0 or 0,1 (default: all)',
    parse: parseRankList,
  },
  {
    flags: '--python <path>',
    description: 'Python interpreter (default: the first found with torch; see ddprun doctor)',
  },
  {
    flags: '--grace-period <seconds>',
    description: 'time between the stop signal and SIGKILL (default: 30)',
    parse: parseSecondsToMs,
  },
  {
    flags: '--backend <backend>',
    description: 'native: ddprun starts the ranks; torchrun: python -m torch.distributed.run does (default: native)',
    choices: ['native', 'torchrun'],
  },
  { flags: '--rdzv-backend <name>', description: 'torchrun backend: rendezvous backend, e.g. c10d' },
  { flags: '--rdzv-endpoint <host:port>', description: 'torchrun backend: rendezvous endpoint' },
  { flags: '--rdzv-id <id>', description: 'torchrun backend: rendezvous id (default: the run id)' },
  {
    flags: '--rdzv-timeout <seconds>',
    description: 'how long a node waits for the others (default: 900)',
    parse: parseSecondsToMs,
  },
  {
    flags: '--hang-timeout <seconds>',
    description:
      'report a hang, with every rank’s Python stack, when no rank printed a line or used CPU for that long (default: off)',
    parse: parseSecondsToMs,
  },
  {
    flags: '--on-hang <action>',
    description: 'dump: report and keep running; stop: report, stop the job, exit 124 (default: dump)',
    choices: ['dump', 'stop'],
  },
  {
    flags: '--stack-dumps',
    description:
      'let ddprun dump the ranks’ Python stacks (ddprun stacks, before a teardown’s SIGKILL); on with --hang-timeout',
  },
  {
    flags: '--dry-run',
    description:
      'print what would run (argv, cwd, environment, files per rank) and exit; runs, writes and deletes nothing',
  },
  {
    flags: '--json',
    description:
      'one JSON event per line on stdout (started, line, exited, restarting, resources, hang, done); human output on stderr',
  },
  { flags: '--quiet', description: 'no status line and no summary, only the ranks’ output' },
];

export const ENTRY_FLAGS: Spec[] = [
  { flags: '-m, --module', description: 'run the script argument as a Python module (python -m)' },
  { flags: '--no-python', description: 'run the script argument as an executable, without Python' },
];

export const VALUE_FLAGS = new Set(
  LAUNCH_FLAGS.filter((s) => s.flags.includes('<')).map((s) => s.flags.split(' ')[0] as string),
);

/** The long name of a flag spec: `--nproc-per-node`. */
export function flagName(spec: Spec): string {
  return spec.flags.split(/[ ,]+/).find((part) => part.startsWith('--')) as string;
}

export function addFlags(command: Command, specs: Spec[]): Command {
  for (const spec of specs) {
    const option = new Option(spec.flags, spec.description);
    if (spec.choices) option.choices(spec.choices);
    if (spec.repeat) option.argParser((value: string, previous: string[] | undefined) => [...(previous ?? []), value]);
    command.addOption(option);
  }
  return command;
}

export function newCommand(name: string, captured: { out: string }): Command {
  return new Command(name)
    .exitOverride()
    .configureOutput({ writeOut: (text) => (captured.out += text), writeErr: () => {}, outputError: () => {} })
    .enablePositionalOptions()
    .passThroughOptions()
    .helpOption('-h, --help', 'show this help');
}

/** Runs commander; help and version become a `print` command, its errors a UsageError. */
export function runCommander(
  command: Command,
  tokens: string[],
  captured: { out: string },
): { kind: 'print'; text: string } | undefined {
  try {
    command.parse(tokens, { from: 'user' });
    return undefined;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (
        error.code === 'commander.helpDisplayed' ||
        error.code === 'commander.version' ||
        error.code === 'commander.help'
      )
        return { kind: 'print', text: captured.out };
      const message = error.message
        .replace(/^error: /, '')
        .replace(/\s*\n\s*/g, ' ')
        .replace(/\.$/, '');
      throw new UsageError(
        `${message[0]?.toUpperCase()}${message.slice(1)}. See \`ddprun${command.name() === 'ddprun' ? '' : ` ${command.name()}`} --help\`.`,
        undefined,
        { cause: error },
      );
    }
    throw error;
  }
}

export function typed(specs: Spec[], raw: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const spec of specs) {
    const long = flagName(spec);
    const key = long.slice(2).replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    const value = raw[key];
    if (value === undefined) continue;
    out[key] = spec.parse && typeof value === 'string' ? spec.parse(long, value) : value;
  }
  return out;
}

/** The launch options and output flags of a parsed command line. */
export function launchOptions(raw: Record<string, unknown>): {
  options: Omit<LaunchOptions, 'entry'>;
  output: OutputFlags;
} {
  const v = typed(LAUNCH_FLAGS, raw);
  const options: Omit<LaunchOptions, 'entry'> = { console: false, handleSignals: true };
  const copy = [
    'nprocPerNode',
    'nnodes',
    'nodeRank',
    'masterAddr',
    'masterPort',
    'maxRestarts',
    'runId',
    'logDir',
    'redirects',
    'tee',
    'localRanksFilter',
    'python',
    'backend',
    'rdzvBackend',
    'rdzvEndpoint',
    'rdzvId',
  ] as const;
  for (const key of copy) if (v[key] !== undefined) (options as Record<string, unknown>)[key] = v[key];
  if (v.gracePeriod !== undefined) options.gracePeriodMs = v.gracePeriod as number;
  if (v.rdzvTimeout !== undefined) options.rdzvTimeoutMs = v.rdzvTimeout as number;
  if (v.hangTimeout !== undefined) options.hangTimeoutMs = v.hangTimeout as number;
  if (v.onHang !== undefined) options.onHang = v.onHang as 'dump' | 'stop';
  if (v.stackDumps !== undefined) options.stackDumps = Boolean(v.stackDumps);
  if (v.standalone) {
    if (options.nnodes !== undefined && options.nnodes !== 1) {
      throw new UsageError(
        `--standalone runs a single node, but --nnodes is ${JSON.stringify(options.nnodes)}. Drop one of them.`,
        '--standalone',
      );
    }
    options.nnodes = 1;
    options.nodeRank ??= 0;
    options.masterAddr ??= '127.0.0.1';
    if (options.backend === 'torchrun') {
      options.rdzvBackend ??= 'c10d';
      options.rdzvEndpoint ??= 'localhost:0';
    }
  }
  return { options, output: { dryRun: Boolean(v.dryRun), json: Boolean(v.json), quiet: Boolean(v.quiet) } };
}

/** What each rank runs, from `-m`/`--no-python` and the positional arguments (`script args…`). */
export function entryOf(raw: Record<string, unknown>, positional: readonly string[]): LaunchOptions['entry'] {
  const [script = '', ...args] = positional;
  return raw.module ? { module: script, args } : raw.python === false ? { command: script, args } : { script, args };
}
