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
  | { kind: 'print'; text: string };

type Parse = (flag: string, value: string) => unknown;
interface Spec {
  flags: string;
  description: string;
  parse?: Parse;
  choices?: string[];
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
    const long = spec.flags.split(/[ ,]+/).find((part) => part.startsWith('--')) as string;
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

/** Turns `process.argv.slice(2)` into a command; throws UsageError for anything malformed. Pure. */
export function parseCli(argv: readonly string[]): CliCommand {
  const [first, ...rest] = argv;
  if ((SUBCOMMANDS as readonly string[]).includes(first ?? '')) {
    const sub = first as Subcommand;
    if (sub === 'train') return parseTrain(rest);
    if (sub === 'doctor') return parseDoctor(rest);
    return parseGc(rest);
  }
  return parseLaunch(argv);
}
