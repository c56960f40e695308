import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { UsageError } from '../errors.js';
import type { LaunchOptions } from '../launch/types.js';
import { SUBCOMMANDS, normalizeFlagSpelling, type Subcommand } from './argv.js';
import { EXIT_CODES_HELP } from './exit.js';
import { parseInteger, parseNnodes, parseNprocPerNode, parseRankList, parseSecondsToMs, parseStdSpec } from './flags.js';
import type { PyLiteral } from './smart-value.js';
import { parseKeyValues, parseTrainerName } from './train-args.js';

/** How the CLI reports, besides what it launches. */
export interface OutputFlags {
  /** Print the plan, run nothing. */
  dryRun: boolean;
  /** One JSON event per line on stdout; human output on stderr. */
  json: boolean;
  /** No status line and no summary. */
  quiet: boolean;
}

/** What the parsed command line asks for; built without any I/O. */
export type CliCommand =
  | { kind: 'launch'; options: LaunchOptions; output: OutputFlags }
  | { kind: 'train'; options: Omit<LaunchOptions, 'entry'>; trainer: { module: string; className: string; args: Map<string, PyLiteral> }; output: OutputFlags }
  | { kind: 'doctor'; fix: boolean }
  | { kind: 'gc' }
  | { kind: 'slurm'; submit: SlurmSubmit; output: OutputFlags }
  | { kind: 'print'; text: string };

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
  /** ddprun's launch options, the script and its arguments, as typed (underscore spellings normalized). */
  ddprunArgs: string[];
}

type Parse = (flag: string, value: string) => unknown;
interface Spec {
  flags: string;
  description: string;
  parse?: Parse;
  choices?: string[];
  /** The flag may be given several times; its values are collected in order. */
  repeat?: boolean;
}

// torchrun's flags (both spellings accepted, see argv.ts) plus ddprun's own.
const LAUNCH_FLAGS: Spec[] = [
  { flags: '--nproc-per-node <n>', description: 'ranks on this node: a number, or auto (GPUs if CUDA is available, else CPUs), gpu, cpu (default: 1)', parse: parseNprocPerNode },
  { flags: '--nnodes <n>', description: 'nodes in the job, or MIN:MAX with --backend torchrun (default: 1)', parse: parseNnodes },
  { flags: '--node-rank <r>', description: 'rank of this node, 0 … nnodes-1 (default: 0)', parse: parseInteger },
  { flags: '--master-addr <host>', description: 'address where rank 0 hosts the store (default: 127.0.0.1)' },
  { flags: '--master-port <port>', description: 'port of that store, 1-65535 (default: a free port; needed with several nodes)', parse: parseInteger },
  { flags: '--standalone', description: "single node, rendezvous on localhost with a free port (torchrun's --standalone)" },
  { flags: '--max-restarts <n>', description: 'restarts of the whole group after a failure (default: 0)', parse: parseInteger },
  { flags: '--run-id <id>', description: 'TORCHELASTIC_RUN_ID (default: none)' },
  { flags: '--log-dir <dir>', description: 'per-rank logs in DIR/attempt_<k>/<rank>/stdout.log|stderr.log' },
  { flags: '--redirects <spec>', description: 'streams sent to log files only: 0 none, 1 stdout, 2 stderr, 3 both, or per rank like 0:1,1:2', parse: parseStdSpec },
  { flags: '--tee <spec>', description: 'streams sent to log files and the console (same syntax as --redirects)', parse: parseStdSpec },
  { flags: '--local-ranks-filter <ranks>', description: 'local ranks whose output is shown, e.g. 0 or 0,1 (default: all)', parse: parseRankList },
  { flags: '--python <path>', description: 'Python interpreter (default: the first found with torch; see ddprun doctor)' },
  { flags: '--grace-period <seconds>', description: 'time between the stop signal and SIGKILL (default: 30)', parse: parseSecondsToMs },
  { flags: '--backend <backend>', description: 'native: ddprun starts the ranks; torchrun: python -m torch.distributed.run does (default: native)', choices: ['native', 'torchrun'] },
  { flags: '--rdzv-backend <name>', description: 'torchrun backend: rendezvous backend, e.g. c10d' },
  { flags: '--rdzv-endpoint <host:port>', description: 'torchrun backend: rendezvous endpoint' },
  { flags: '--rdzv-id <id>', description: 'torchrun backend: rendezvous id (default: the run id)' },
  { flags: '--rdzv-timeout <seconds>', description: 'how long a node waits for the others (default: 900)', parse: parseSecondsToMs },
  { flags: '--dry-run', description: 'print what would run (argv, cwd, environment, files per rank) and exit; runs, writes and deletes nothing' },
  { flags: '--json', description: 'one JSON event per line on stdout (started, line, exited, restarting, done); human output on stderr' },
  { flags: '--quiet', description: 'no status line and no summary, only the ranks’ output' },
];

const ENTRY_FLAGS: Spec[] = [
  { flags: '-m, --module', description: 'run the script argument as a Python module (python -m)' },
  { flags: '--no-python', description: 'run the script argument as an executable, without Python' },
];

const VALUE_FLAGS = new Set(LAUNCH_FLAGS.filter((s) => s.flags.includes('<')).map((s) => s.flags.split(' ')[0] as string));

const MAIN_HELP_BEFORE = `Launch and supervise distributed PyTorch training: torchrun's job, without the agent.

  ddprun [options] script.py [script args…]
  ddprun [options] -m module [args…]
  ddprun [options] --no-python command [args…]
  ddprun train [options] module.ClassName key=value…   Ultralytics-style trainer on all devices
  ddprun doctor [--fix]                                 check (and fix) this machine for a launch
  ddprun gc                                             remove temp entry files left by killed launches
  ddprun slurm [--nodes N] [options] script.py [args…]  submit the same launch as a Slurm batch job

Inside a Slurm allocation (SLURM_JOB_ID set), --nnodes, --node-rank, --master-addr,
--master-port and --nproc-per-node default to what the allocation says (--dry-run shows
where each came from); flags given on the command line win.

Everything after the script goes to it untouched. torchrun's underscore spellings
(--nproc_per_node, --master_addr=…) are accepted too. Subcommands are recognised
only as the first argument: run a script named \`train\` as ./train.
`;

function version(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

function addFlags(command: Command, specs: Spec[]): Command {
  for (const spec of specs) {
    const option = new Option(spec.flags, spec.description);
    if (spec.choices) option.choices(spec.choices);
    if (spec.repeat) option.argParser((value: string, previous: string[] | undefined) => [...(previous ?? []), value]);
    command.addOption(option);
  }
  return command;
}

function newCommand(name: string, captured: { out: string }): Command {
  return new Command(name)
    .exitOverride()
    .configureOutput({ writeOut: (text) => (captured.out += text), writeErr: () => {}, outputError: () => {} })
    .enablePositionalOptions()
    .passThroughOptions()
    .helpOption('-h, --help', 'show this help');
}

/** Runs commander; help and version become a `print` command, its errors a UsageError. */
function runCommander(command: Command, tokens: string[], captured: { out: string }): { kind: 'print'; text: string } | undefined {
  try {
    command.parse(tokens, { from: 'user' });
    return undefined;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return { kind: 'print', text: captured.out };
      const message = error.message.replace(/^error: /, '').replace(/\s*\n\s*/g, ' ').replace(/\.$/, '');
      throw new UsageError(`${message[0]?.toUpperCase()}${message.slice(1)}. See \`ddprun${command.name() === 'ddprun' ? '' : ` ${command.name()}`} --help\`.`, undefined, { cause: error });
    }
    throw error;
  }
}

function typed(specs: Spec[], raw: Record<string, unknown>): Record<string, unknown> {
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

function launchOptions(raw: Record<string, unknown>): { options: Omit<LaunchOptions, 'entry'>; output: OutputFlags } {
  const v = typed(LAUNCH_FLAGS, raw);
  const options: Omit<LaunchOptions, 'entry'> = { console: false, handleSignals: true };
  const copy = ['nprocPerNode', 'nnodes', 'nodeRank', 'masterAddr', 'masterPort', 'maxRestarts', 'runId', 'logDir', 'redirects', 'tee', 'localRanksFilter', 'python', 'backend', 'rdzvBackend', 'rdzvEndpoint', 'rdzvId'] as const;
  for (const key of copy) if (v[key] !== undefined) (options as Record<string, unknown>)[key] = v[key];
  if (v.gracePeriod !== undefined) options.gracePeriodMs = v.gracePeriod as number;
  if (v.rdzvTimeout !== undefined) options.rdzvTimeoutMs = v.rdzvTimeout as number;
  if (v.standalone) {
    if (options.nnodes !== undefined && options.nnodes !== 1) {
      throw new UsageError(`--standalone runs a single node, but --nnodes is ${JSON.stringify(options.nnodes)}. Drop one of them.`, '--standalone');
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

function parseLaunch(argv: readonly string[]): CliCommand {
  const captured = { out: '' };
  const command = addFlags(addFlags(newCommand('ddprun', captured), LAUNCH_FLAGS), ENTRY_FLAGS)
    .version(version(), '-V, --version', 'print the version')
    .argument('[script]', 'the Python script (or module with -m, executable with --no-python)')
    .argument('[args...]', 'its arguments, passed untouched')
    .addHelpText('before', MAIN_HELP_BEFORE)
    .addHelpText('after', `\n${EXIT_CODES_HELP}`);
  const printed = runCommander(command, normalizeFlagSpelling(argv, VALUE_FLAGS), captured);
  if (printed) return printed;
  const raw = command.opts();
  const [script, ...args] = command.args;
  if (script === undefined) {
    throw new UsageError('Missing the script to run. Usage: `ddprun [options] script.py [args…]` (or `-m module`, `--no-python command`); see `ddprun --help`.', 'script');
  }
  if (raw.module && raw.python === false) throw new UsageError('-m/--module and --no-python exclude each other. Keep one of them.', '--module');
  const { options, output } = launchOptions(raw);
  const entry: LaunchOptions['entry'] = raw.module ? { module: script, args } : raw.python === false ? { command: script, args } : { script, args };
  if (raw.python === false) delete (options as Record<string, unknown>).python;
  return { kind: 'launch', options: { ...options, entry }, output };
}

function parseTrain(argv: readonly string[]): CliCommand {
  const captured = { out: '' };
  const command = addFlags(newCommand('train', captured), LAUNCH_FLAGS)
    .usage('[options] module.ClassName key=value…')
    .argument('[trainer]', 'the trainer class with its module, e.g. ultralytics.models.yolo.detect.DetectionTrainer')
    .argument('[args...]', 'yolo-style key=value arguments, typed as the yolo CLI types them (3 → int, 0.01 → float, true → True, none → None, [0,1] → list, 0,1 → tuple, else a string)')
    .addHelpText(
      'after',
      `\nThe world size is --nproc-per-node when given, else from device= by Ultralytics' rules (device=0,1 → 2;\ndevice=-1 picks an idle GPU per -1). CUDA_VISIBLE_DEVICES is set like Ultralytics' select_device.\n\n${EXIT_CODES_HELP}`,
    );
  const printed = runCommander(command, normalizeFlagSpelling(argv, VALUE_FLAGS), captured);
  if (printed) return printed;
  const [name, ...rest] = command.args;
  if (name === undefined) {
    throw new UsageError('Missing the trainer. Usage: `ddprun train [options] module.ClassName key=value…`, e.g. `ddprun train ultralytics.models.yolo.detect.DetectionTrainer model=yolo11n.pt epochs=3`.', 'trainer');
  }
  const { module, className } = parseTrainerName(name);
  const args = parseKeyValues(rest);
  const { options, output } = launchOptions(command.opts());
  return { kind: 'train', options, trainer: { module, className, args }, output };
}

function parseDoctor(argv: readonly string[]): CliCommand {
  const captured = { out: '' };
  const command = newCommand('doctor', captured)
    .allowExcessArguments(true)
    .description('Check this machine for a launch: Python and torch, CUDA and GPUs, NCCL/gloo, the DDP temp dir, a free port, the parent-death guard. Exits 1 when something a launch needs is missing.')
    .option('--fix', 'install PyTorch through the OS package manager when no Python has it (Debian/Ubuntu: apt-get install -y python3-torch), and sweep stale temp entry files');
  const printed = runCommander(command, [...argv], captured);
  if (printed) return printed;
  if (command.args.length > 0) throw new UsageError(`\`ddprun doctor\` takes no arguments, got \`${command.args.join(' ')}\`. See \`ddprun doctor --help\`.`);
  return { kind: 'doctor', fix: Boolean(command.opts().fix) };
}

function parseGc(argv: readonly string[]): CliCommand {
  const captured = { out: '' };
  const command = newCommand('gc', captured).allowExcessArguments(true).description('Remove temp entry files whose launcher is no longer alive, and say which.');
  const printed = runCommander(command, [...argv], captured);
  if (printed) return printed;
  if (command.args.length > 0) throw new UsageError(`\`ddprun gc\` takes no arguments, got \`${command.args.join(' ')}\`. See \`ddprun gc --help\`.`);
  return { kind: 'gc' };
}

// `ddprun slurm`'s own flags; every other flag is a launch flag, checked here and passed to each node's ddprun.
const SLURM_FLAGS: Spec[] = [
  { flags: '--nodes <n>', description: 'nodes of the job; one ddprun runs on each (default: --nnodes, else 1)', parse: parsePositive },
  { flags: '--gpus-per-node <n>', description: 'GPUs per node (sbatch --gpus-per-node; default: none requested)', parse: parsePositive },
  { flags: '--cpus-per-node <n>', description: "CPUs per node for its ddprun and all its ranks (sbatch --cpus-per-task; default: Slurm's)", parse: parsePositive },
  { flags: '--time <time>', description: "time limit, in any format sbatch accepts (default: the partition's)" },
  { flags: '--partition <name>', description: "partition (default: the cluster's default)" },
  { flags: '--job-name <name>', description: 'job name (default: ddprun)' },
  { flags: '--output <pattern>', description: 'job output file, sbatch patterns like %j allowed (default: ddprun-%j.out in this directory)' },
  { flags: '--sbatch-arg <arg>', description: 'one more sbatch option, e.g. --sbatch-arg=--qos=high (repeatable; written last, so it wins)', repeat: true },
  { flags: '--wait', description: "follow the job to its end, print its output file, and exit with the job's exit code" },
  { flags: '--wait-timeout <seconds>', description: 'with --wait: stop waiting after this long (exit 1; the job keeps running)', parse: parseSecondsToMs },
];

function parsePositive(flag: string, value: string): number {
  const n = parseInteger(flag, value);
  if (n < 1) throw new UsageError(`${flag} expects a positive integer, got ${JSON.stringify(value)}.`, flag);
  return n;
}

function flagName(spec: Spec): string {
  return spec.flags.split(/[ ,]+/).find((part) => part.startsWith('--')) as string;
}

const SLURM_VALUE_FLAGS = new Set(SLURM_FLAGS.filter((s) => s.flags.includes('<')).map(flagName));
/** Flags `ddprun slurm` keeps for itself: the sbatch ones, and --dry-run/--json, which are about the submission. */
const SLURM_OWN_FLAGS = new Set([...SLURM_FLAGS.map(flagName), '--dry-run', '--json']);

/** The tokens for each node's ddprun: `tokens` without `ddprun slurm`'s own flags (and their values). */
function ddprunTokens(tokens: readonly string[], valueFlags: ReadonlySet<string>): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < tokens.length) {
    const token = tokens[i] as string;
    if (token === '--' || !token.startsWith('-') || token === '-') break;
    const eq = token.indexOf('=');
    const name = eq === -1 ? token : token.slice(0, eq);
    const takesNext = eq === -1 && valueFlags.has(name) && i + 1 < tokens.length;
    const width = takesNext ? 2 : 1;
    if (!SLURM_OWN_FLAGS.has(name)) out.push(...tokens.slice(i, i + width));
    i += width;
  }
  const rest = tokens.slice(i);
  // A script named like a subcommand (`train`) would be read as one by the node's ddprun.
  if (out.length === 0 && rest[0] !== undefined && (SUBCOMMANDS as readonly string[]).includes(rest[0])) out.push('--');
  return out.concat(rest);
}

function parseSlurm(argv: readonly string[]): CliCommand {
  const captured = { out: '' };
  const valueFlags = new Set([...VALUE_FLAGS, ...SLURM_VALUE_FLAGS]);
  const command = addFlags(addFlags(addFlags(newCommand('slurm', captured), SLURM_FLAGS), LAUNCH_FLAGS), ENTRY_FLAGS)
    .usage('[--nodes N] [sbatch options] [ddprun options] script.py [args…]')
    .description(
      'Submit a ddprun launch as a Slurm batch job: writes the sbatch script (one ddprun per node under\n' +
        '`srun --ntasks-per-node=1`; each reads its node rank, master address and port from Slurm), submits it\n' +
        'with sbatch and prints the job id. --dry-run prints the script and submits nothing.',
    )
    .argument('[script]', 'the Python script (or module with -m, executable with --no-python), as each node runs it')
    .argument('[args...]', 'its arguments, passed untouched')
    .addHelpText('after', `\nWith --wait, the exit code is the job's: its batch script's exit code, else 128+signal, else 1 when it did not\ncomplete; 1 when waiting fails or times out; 2 for bad usage (nothing was submitted).`);
  const tokens = normalizeFlagSpelling(argv, valueFlags);
  const printed = runCommander(command, tokens, captured);
  if (printed) return printed;
  const raw = command.opts();
  const own = typed(SLURM_FLAGS, raw);
  if (command.args[0] === undefined) {
    throw new UsageError('Missing the script to run. Usage: `ddprun slurm [--nodes N] [options] script.py [args…]`; see `ddprun slurm --help`.', 'script');
  }
  if (raw.module && raw.python === false) throw new UsageError('-m/--module and --no-python exclude each other. Keep one of them.', '--module');
  // The launch flags are checked here, so a typo fails now and not on the nodes, after the queue.
  const { options, output } = launchOptions(raw);
  let nodes = own.nodes as number | undefined;
  if (raw.standalone && nodes !== undefined && nodes > 1) throw new UsageError(`--standalone runs a single node, but the job has ${nodes} nodes. Drop one of them.`, '--standalone');
  if (typeof options.nnodes === 'number') {
    if (nodes !== undefined && nodes !== options.nnodes) {
      throw new UsageError(`--nodes ${nodes} and --nnodes ${options.nnodes} disagree: the job's nodes are its ranks' nodes. Drop --nnodes.`, '--nnodes');
    }
    nodes ??= options.nnodes;
  }
  nodes ??= 1;
  if (options.nodeRank !== undefined) {
    throw new UsageError("--node-rank differs on every node: each node's ddprun reads it from Slurm (SLURM_NODEID). Drop --node-rank.", '--node-rank');
  }
  if (own.waitTimeout === 0) throw new UsageError('--wait-timeout expects a number of seconds above 0, got "0".', '--wait-timeout');
  if (own.waitTimeout !== undefined && !own.wait) throw new UsageError('--wait-timeout only bounds --wait. Add --wait, or drop --wait-timeout.', '--wait-timeout');
  const submit: SlurmSubmit = {
    nodes,
    outputPattern: (own.output as string | undefined) ?? 'ddprun-%j.out',
    sbatchArgs: (own.sbatchArg as string[] | undefined) ?? [],
    wait: Boolean(own.wait),
    ddprunArgs: ddprunTokens(tokens, valueFlags),
  };
  for (const key of ['gpusPerNode', 'cpusPerNode', 'time', 'partition', 'jobName', 'waitTimeout'] as const) {
    const value = own[key];
    if (value !== undefined) (submit as unknown as Record<string, unknown>)[key === 'waitTimeout' ? 'waitTimeoutMs' : key] = value;
  }
  return { kind: 'slurm', submit, output };
}

/** Turns `process.argv.slice(2)` into a command; throws UsageError for anything malformed. Pure. */
export function parseCli(argv: readonly string[]): CliCommand {
  const [first, ...rest] = argv;
  if ((SUBCOMMANDS as readonly string[]).includes(first ?? '')) {
    const sub = first as Subcommand;
    if (sub === 'train') return parseTrain(rest);
    if (sub === 'doctor') return parseDoctor(rest);
    if (sub === 'slurm') return parseSlurm(rest);
    return parseGc(rest);
  }
  return parseLaunch(argv);
}
