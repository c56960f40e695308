import { Command, CommanderError, Option } from 'commander';
import { UsageError } from '../errors.js';
import type { LaunchOptions } from '../model/types.js';
import { flaggedOptions, type FlagValue, type OptionName } from '../launch/option-table.js';
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
  /** Serve the dashboard while the run lives. */
  ui?: boolean;
  /**
   * What the command line asked that ddprun does differently (torchrun flags it ignores, a backend it chose); --dry-run
   * shows them.
   */
  notes?: string[];
}

export type Parse = (flag: string, value: string) => unknown;
export interface Spec {
  flags: string;
  description: string;
  parse?: Parse;
  choices?: string[];
  /** The flag may be given several times; its values are collected in order. */
  repeat?: boolean;
  /** The `launch()` option this flag sets (its row in the option table). */
  option?: OptionName;
}

const CONVERTERS: Record<FlagValue, Parse | undefined> = {
  text: undefined,
  integer: parseInteger,
  nproc: parseNprocPerNode,
  nnodes: parseNnodes,
  'seconds-to-ms': parseSecondsToMs,
  ranks: parseRankList,
  'std-spec': parseStdSpec,
  switch: undefined,
};

// The CLI's own flags: how it reports, not what it launches.
const OUTPUT_FLAGS: Spec[] = [
  {
    flags: '--standalone',
    description: "single node, rendezvous on localhost with a free port (torchrun's --standalone)",
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
  {
    flags: '--ui',
    description: 'serve the dashboard (as `ddprun ui`) while the run lives, and print its URL on stderr',
  },
  {
    flags: '--no-record',
    description: 'do not record this run in the run store (ddprun ps/logs/show/stop will not know it)',
  },
];

/** Launch and train only: a Slurm job's nodes must stay in the foreground. */
export const DETACH_FLAGS: Spec[] = [
  {
    flags: '-d, --detach',
    description:
      'start in the background (its own session): print the run id, return once the ranks run; then ddprun logs -f/ps/stop',
  },
];

// torchrun's flags (both spellings accepted, see argv.ts), one per row of the option table, plus ddprun's own.
export const LAUNCH_FLAGS: Spec[] = [
  ...flaggedOptions().map(({ option, flag }): Spec => ({
    flags: flag.spec,
    description: flag.help,
    parse: CONVERTERS[flag.value ?? 'text'],
    ...(flag.choices ? { choices: [...flag.choices] } : {}),
    option,
  })),
  ...OUTPUT_FLAGS,
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
    .helpOption('-h, --help', 'show this help')
    .configureHelp({
      // A subcommand's usage line is what the user types: `ddprun train [options] …`, not `train [options] …`.
      commandUsage: (cmd) => `${name === 'ddprun' ? '' : 'ddprun '}${cmd.name()} ${cmd.usage()}`,
    });
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

/** The key commander stores a flag's value under: `--grace-period` → `gracePeriod`. */
function commanderKey(spec: Spec): string {
  return flagName(spec)
    .slice(2)
    .replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

export function typed(specs: Spec[], raw: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const spec of specs) {
    const long = flagName(spec);
    const key = commanderKey(spec);
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
  for (const spec of LAUNCH_FLAGS) {
    const value = spec.option === undefined ? undefined : v[commanderKey(spec)];
    if (value !== undefined) (options as Record<string, unknown>)[spec.option as string] = value;
  }
  // commander names `--no-record` `record` (false when given).
  if (raw.record === false) options.record = false;
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
  return {
    options,
    output: {
      dryRun: Boolean(v.dryRun),
      json: Boolean(v.json),
      quiet: Boolean(v.quiet),
      ...(v.ui ? { ui: true } : {}),
    },
  };
}

/** What each rank runs, from `-m`/`--no-python` and the positional arguments (`script args…`). */
export function entryOf(raw: Record<string, unknown>, positional: readonly string[]): LaunchOptions['entry'] {
  const [script = '', ...args] = positional;
  return raw.module ? { module: script, args } : raw.python === false ? { command: script, args } : { script, args };
}
