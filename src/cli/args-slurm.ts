import { UsageError } from '../errors.js';
import type { LaunchOptions } from '../model/types.js';
import { SUBCOMMANDS, normalizeFlagSpelling } from './argv.js';
import { VALUE_FLAGS, flagName, typed, type OutputFlags, type Spec } from './flag-specs.js';
import { parseInteger, parseSecondsToMs } from './flags.js';
import {
  firstArgument,
  launchCommand,
  launchOf,
  parseCommand,
  splitOwnFlags,
  valueFlagsOf,
  type Printed,
} from './subcommand.js';
import type { Command } from 'commander';

/** `ddprun slurm`: what to ask of sbatch, and the ddprun arguments each node runs. */
export interface SlurmSubmit {
  nodes: number;
  gpusPerNode?: number;
  cpusPerNode?: number;
  time?: string;
  partition?: string;
  jobName?: string;
  /** sbatch's `--output` pattern, relative to the submit directory unless absolute. */
  outputPattern: string;
  sbatchArgs: string[];
  /** Follow the job to its end and exit with its exit code. */
  wait: boolean;
  /** Give up waiting after this long (the job keeps running). @default no limit */
  waitTimeoutMs?: number;
  /** `--signal-before`: Slurm's warning (SIGUSR1) this many seconds before the time limit. */
  signalBeforeS?: number;
  /** `--requeue`: on the warning, stop leader-first and requeue the job; the requeued job resumes a trainer run. */
  requeue?: boolean;
  /** ddprun's launch options, the script and its arguments, as typed (underscore spellings normalized). */
  ddprunArgs: string[];
  /** The same launch as options, to check at submit time (each node's ddprun fills in the Slurm values). */
  launch: LaunchOptions;
}

// `ddprun slurm`'s own flags; every other flag is a launch flag, checked here and passed to each node's ddprun.
const SLURM_FLAGS: Spec[] = [
  {
    flags: '--nodes <n>',
    description: 'nodes of the job; one ddprun runs on each (default: --nnodes, else 1)',
    parse: parsePositive,
  },
  {
    flags: '--gpus-per-node <n>',
    description: 'GPUs per node (sbatch --gpus-per-node; default: none requested)',
    parse: parsePositive,
  },
  {
    flags: '--cpus-per-node <n>',
    description: "CPUs per node for its ddprun and all its ranks (sbatch --cpus-per-task; default: Slurm's)",
    parse: parsePositive,
  },
  { flags: '--time <time>', description: "time limit, in any format sbatch accepts (default: the partition's)" },
  { flags: '--partition <name>', description: "partition (default: the cluster's default)" },
  { flags: '--job-name <name>', description: 'job name (default: ddprun)' },
  {
    flags: '--output <pattern>',
    description: 'job output file, sbatch patterns like %j allowed (default: ddprun-%j.out in this directory)',
  },
  {
    flags: '--sbatch-arg <arg>',
    description: 'one more sbatch option, e.g. --sbatch-arg=--qos=high (repeatable; written last, so it wins)',
    repeat: true,
  },
  {
    flags: '--requeue',
    description:
      'on the warning before the time limit (--signal-before), stop leader-first and requeue the job; the requeued job resumes a trainer run from its last.pt',
  },
  {
    flags: '--signal-before <seconds>',
    description:
      "send every node's ddprun SIGUSR1 this long before the time limit (sbatch --signal); the run stops as preempted (default with --requeue: 120)",
    parse: (flag: string, value: string) => {
      const n = parseInteger(flag, value);
      if (n < 1 || n > 65535)
        throw new UsageError(
          `${flag} expects a whole number of seconds from 1 to 65535, got ${JSON.stringify(value)}.`,
          flag,
        );
      return n;
    },
  },
  {
    flags: '--wait',
    description: "follow the job to its end, print its output file, and exit with the job's exit code",
  },
  {
    flags: '--wait-timeout <seconds>',
    description: 'with --wait: stop waiting after this long (exit 1; the job keeps running)',
    parse: parseSecondsToMs,
  },
];

function parsePositive(flag: string, value: string): number {
  const n = parseInteger(flag, value);
  if (n < 1) throw new UsageError(`${flag} expects a positive integer, got ${JSON.stringify(value)}.`, flag);
  return n;
}

export const SLURM_VALUE_FLAGS = new Set(valueFlagsOf(SLURM_FLAGS));
/** Flags `ddprun slurm` keeps for itself: the sbatch ones, and --dry-run/--json, which are about the submission. */
const SLURM_OWN_FLAGS = new Set([...SLURM_FLAGS.map(flagName), '--dry-run', '--json']);

/** The tokens for each node's ddprun: `tokens` without `ddprun slurm`'s own flags (and their values). */
function ddprunTokens(tokens: readonly string[], valueFlags: ReadonlySet<string>): string[] {
  const [out, rest] = splitOwnFlags(tokens, valueFlags, SLURM_OWN_FLAGS);
  // A script named like a subcommand (`train`) would be read as one by the node's ddprun.
  if (out.length === 0 && rest[0] !== undefined && (SUBCOMMANDS as readonly string[]).includes(rest[0])) out.push('--');
  return out.concat(rest);
}

function slurmCommand(command: Command): Command {
  return launchCommand(command, SLURM_FLAGS)
    .usage('[--nodes N] [sbatch options] [ddprun options] script.py [args…]')
    .description(
      'Submit a ddprun launch as a Slurm batch job: writes the sbatch script (one ddprun per node under\n' +
        '`srun --ntasks-per-node=1`; each reads its node rank, master address and port from Slurm), submits it\n' +
        'with sbatch and prints the job id. --dry-run prints the script and submits nothing.',
    )
    .argument('[script]', 'the Python script (or module with -m, executable with --no-python), as each node runs it')
    .argument('[args...]', 'its arguments, passed untouched')
    .addHelpText(
      'after',
      `\nWith --wait, the exit code is the job's: its batch script's exit code, else 128+signal, else 1 when it did not\ncomplete; 1 when waiting fails or times out; 2 for bad usage (nothing was submitted).`,
    );
}

/** The job's nodes: --nodes, else --nnodes, else 1; refusals where the launch flags say otherwise. */
function jobNodes(
  own: Record<string, unknown>,
  raw: Record<string, unknown>,
  options: Omit<LaunchOptions, 'entry'>,
): number {
  let nodes = own.nodes as number | undefined;
  if (raw.standalone && nodes !== undefined && nodes > 1)
    throw new UsageError(
      `--standalone runs a single node, but the job has ${nodes} nodes. Drop one of them.`,
      '--standalone',
    );
  if (typeof options.nnodes === 'number') {
    if (nodes !== undefined && nodes !== options.nnodes) {
      throw new UsageError(
        `--nodes ${nodes} and --nnodes ${options.nnodes} disagree: the job's nodes are its ranks' nodes. Drop --nnodes.`,
        '--nnodes',
      );
    }
    nodes ??= options.nnodes;
  }
  if (options.nodeRank !== undefined) {
    throw new UsageError(
      "--node-rank differs on every node: each node's ddprun reads it from Slurm (SLURM_NODEID). Drop --node-rank.",
      '--node-rank',
    );
  }
  return nodes ?? 1;
}

/** The submission from the parsed command line. */
function slurmSubmit(
  raw: Record<string, unknown>,
  positional: string[],
  tokens: readonly string[],
  valueFlags: ReadonlySet<string>,
): { kind: 'slurm'; submit: SlurmSubmit; output: OutputFlags } {
  const own = typed(SLURM_FLAGS, raw);
  firstArgument(
    positional,
    'script',
    'Missing the script to run. Usage: `ddprun slurm [--nodes N] [options] script.py [args…]`; see `ddprun slurm --help`.',
  );
  // The launch flags are checked here, so a typo fails now and not on the nodes, after the queue.
  const { options: launch, output } = launchOf(raw, positional);
  if (launch.interactive)
    throw new UsageError(
      '--interactive gives a rank the terminal, which a Slurm batch job does not have. Run `ddprun --interactive` in an interactive allocation (salloc, srun --pty), or leave the flag out.',
      '--interactive',
    );
  const nodes = jobNodes(own, raw, launch);
  if (own.waitTimeout === 0)
    throw new UsageError('--wait-timeout expects a number of seconds above 0, got "0".', '--wait-timeout');
  if (own.waitTimeout !== undefined && !own.wait)
    throw new UsageError('--wait-timeout only bounds --wait. Add --wait, or drop --wait-timeout.', '--wait-timeout');
  const submit: SlurmSubmit = {
    nodes,
    outputPattern: (own.output as string | undefined) ?? 'ddprun-%j.out',
    sbatchArgs: (own.sbatchArg as string[] | undefined) ?? [],
    wait: Boolean(own.wait),
    ...(own.requeue === true && { requeue: true }),
    ...(own.signalBefore !== undefined && { signalBeforeS: own.signalBefore as number }),
    ddprunArgs: ddprunTokens(tokens, valueFlags),
    launch,
  };
  for (const key of ['gpusPerNode', 'cpusPerNode', 'time', 'partition', 'jobName', 'waitTimeout'] as const) {
    const value = own[key];
    if (value !== undefined)
      (submit as unknown as Record<string, unknown>)[key === 'waitTimeout' ? 'waitTimeoutMs' : key] = value;
  }
  return { kind: 'slurm', submit, output };
}

type SlurmCommand = { kind: 'slurm'; submit: SlurmSubmit; output: OutputFlags };

/** `ddprun train`'s parser (args.ts), given by the caller: this module does not import it back. */
type ParseTrain = (argv: readonly string[]) => { kind: string; options?: unknown };

/** Where `train` stands in `ddprun slurm [flags] train …` (the first word after the flags), if it does. */
function trainAt(tokens: readonly string[], valueFlags: ReadonlySet<string>): number | undefined {
  let i = 0;
  while (i < tokens.length) {
    const token = tokens[i] as string;
    if (token === '--' || !token.startsWith('-') || token === '-') break;
    i += token.includes('=') || !valueFlags.has(token) ? 1 : 2;
  }
  return tokens[i] === 'train' ? i : undefined;
}

/**
 * `ddprun slurm [sbatch flags] train [launch flags] module.ClassName key=value…`: each node runs `ddprun train …`.
 * The sbatch flags come before `train`, the launch flags after it (as `ddprun train` takes them).
 */
function slurmTrain(tokens: readonly string[], at: number, parseTrain: ParseTrain): SlurmCommand | Printed {
  const valueFlags = new Set([...VALUE_FLAGS, ...SLURM_VALUE_FLAGS]);
  const own = tokens.slice(0, at);
  const launchFlags = ddprunTokens(own, valueFlags);
  if (launchFlags.length > 0)
    throw new UsageError(
      `With \`ddprun slurm … train\`, the launch flags go after \`train\` (as \`ddprun train\` takes them), got ${launchFlags[0]} before it.`,
      launchFlags[0],
    );
  const train = parseTrain(tokens.slice(at + 1));
  if (train.kind !== 'train') return train as Printed;
  // Parsed as a job of a stand-in script, then given the trainer's command line and launch flags.
  const parsed = parseCommand('slurm', [...own, '--', 'train'], slurmCommand, (raw, positional) =>
    slurmSubmit(raw, positional, [...own, '--', 'train'], valueFlags),
  );
  if (parsed.kind === 'print') return parsed;
  // The trainer is checked on the nodes (its module is importable there); its launch flags are checked now.
  parsed.submit.launch = { ...(train.options as Omit<LaunchOptions, 'entry'>), entry: { command: process.execPath } };
  parsed.submit.ddprunArgs = ['train', ...tokens.slice(at + 1)];
  return parsed;
}

/** `ddprun slurm …`: the submission, and the arguments each node's ddprun gets (`parseTrain`: `slurm … train …`). */
export function parseSlurm(argv: readonly string[], parseTrain?: ParseTrain): SlurmCommand | Printed {
  const valueFlags = new Set([...VALUE_FLAGS, ...SLURM_VALUE_FLAGS]);
  const tokens = normalizeFlagSpelling(argv, valueFlags);
  const at = parseTrain ? trainAt(tokens, valueFlags) : undefined;
  if (at !== undefined && parseTrain) return slurmTrain(tokens, at, parseTrain);
  return parseCommand('slurm', tokens, slurmCommand, (raw, positional) =>
    slurmSubmit(raw, positional, tokens, valueFlags),
  );
}
