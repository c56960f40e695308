import { ddprunVersion } from '../version.js';
import { UsageError } from '../errors.js';
import type { LaunchOptions } from '../model/types.js';
import { normalizeFlagSpelling } from './argv.js';
import { EXIT_CODES_HELP } from '../exit-codes.js';
import type { SlurmSubmit } from './args-slurm.js';
import type { K8sSubmit } from './args-k8s.js';
import type { RunsCommand } from './args-runs.js';
import {
  DETACH_FLAGS,
  ENTRY_FLAGS,
  LAUNCH_FLAGS,
  VALUE_FLAGS,
  addFlags,
  flagName,
  launchOptions,
  type OutputFlags,
} from './flag-specs.js';
import type { PyLiteral } from '../python/smart-value.js';
import { TORCHRUN_EXTRA_FLAGS, applyTorchrunFlags, preprocessTorchrunArgv } from './torchrun-compat.js';
import { refuseInteractiveWith } from '../launch/run/interactive.js';
import { parseKeyValues, parseTrainerName } from './train-args.js';
import type { ResumeCommand } from './args-resume.js';
import { parseInteger } from './flags.js';
import {
  firstArgument,
  launchCommand,
  launchOf,
  noArguments,
  parseCommand,
  valueFlagsOf,
  type Printed,
} from './subcommand.js';

export type { OutputFlags } from './flag-specs.js';
export type { SlurmSubmit } from './args-slurm.js';
export type { K8sSubmit } from './args-k8s.js';

/** What the parsed command line asks for; built without any I/O. */
export type CliCommand =
  | { kind: 'launch'; options: LaunchOptions; output: OutputFlags; detach: boolean }
  | {
      kind: 'train';
      options: Omit<LaunchOptions, 'entry'>;
      trainer: { module: string; className: string; args: Map<string, PyLiteral> };
      output: OutputFlags;
      detach: boolean;
    }
  | { kind: 'doctor'; fix: boolean; json?: boolean }
  | ResumeCommand
  | RunsCommand
  | { kind: 'ui'; port: number | undefined; host: string; open: boolean; status: boolean }
  | { kind: 'slurm'; submit: SlurmSubmit; output: OutputFlags }
  | { kind: 'k8s'; submit: K8sSubmit; output: OutputFlags }
  | Printed;

const MAIN_HELP_BEFORE = `Launch and supervise distributed PyTorch training: torchrun's job, without the agent.

  ddprun [options] script.py [script args…]
  ddprun [options] -m module [args…]
  ddprun [options] --no-python command [args…]
  ddprun train [options] module.ClassName key=value…   Ultralytics-style trainer on all devices
  ddprun doctor [--fix]                                 check (and fix) this machine for a launch
  ddprun gc [--dry-run]                                 remove entry files left by killed launches; prune old runs
  ddprun resume <id> [key=value…]                       resume a failed/stopped trainer run from its last.pt
  ddprun ps [--all] [--json]                            list running runs (--all: finished ones too)
  ddprun logs <id> [-f] [--rank N] [--tail N]           a run's output; -f follows it to its end
  ddprun show <id> [--json]                             a run's summary: per-rank table, attempts, root cause
  ddprun stop <id> [--kill] [--timeout SECONDS]         stop a run as Ctrl-C would, and wait for its end
  ddprun rm <id>…                                       remove finished runs from the run store
  ddprun stacks <id>                                    every rank's Python stack of a live run (--stack-dumps)
  ddprun ui [--port N] [--host ADDR] [--open]           the dashboard of every recorded run, in a browser
  ddprun slurm [--nodes N] [options] script.py [args…]  submit the same launch as a Slurm batch job
  ddprun k8s --image IMAGE [options] script.py|train …  the same launch as Kubernetes manifests (--apply submits)
  ddprun help [command]                                 this help, or a command's (also -h, --help)

<id> is a run id, a unique prefix of one, a run's --name (its newest run), or last (the newest run).

Every command takes --verbose (print an error's stack trace, as DDPRUN_DEBUG=1 does); -v, -V and
--version print the version. Colours: on a terminal, never when NO_COLOR is set and non-empty, and
always when FORCE_COLOR is set (to anything but 0 or false).

Inside a Slurm allocation (SLURM_JOB_ID set), --nnodes, --node-rank, --master-addr,
--master-port and --nproc-per-node default to what the allocation says (--dry-run shows
where each came from); flags given on the command line win.
Inside a Kubernetes pod (KUBERNETES_SERVICE_HOST set), --nnodes, --node-rank, --master-addr and
--master-port default to what the pod's engine says (Indexed Job, Volcano, PyTorchJob; PET_* first).

Everything after the script goes to it untouched. torchrun's underscore spellings
(--nproc_per_node, --master_addr=…) are accepted too. Subcommands are recognised
only as the first argument: run a script named \`train\` as ./train.
`;

export function parseLaunch(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): CliCommand {
  const specs = [...LAUNCH_FLAGS, ...ENTRY_FLAGS, ...TORCHRUN_EXTRA_FLAGS];
  const known = [...specs.map((s) => flagName(s)), '--help', '--version'];
  const valueFlags = new Set([...VALUE_FLAGS, ...valueFlagsOf(TORCHRUN_EXTRA_FLAGS)]);
  const pre = preprocessTorchrunArgv(argv, env, known, valueFlags);
  return parseCommand(
    'ddprun',
    pre.tokens,
    (command) =>
      launchCommand(command, [], [...TORCHRUN_EXTRA_FLAGS, ...DETACH_FLAGS])
        .version(ddprunVersion(), '-V, --version', 'print the version')
        .argument('[script]', 'the Python script (or module with -m, executable with --no-python)')
        .argument('[args...]', 'its arguments, passed untouched')
        .addHelpText('before', MAIN_HELP_BEFORE)
        .addHelpText('after', `\n${EXIT_CODES_HELP}`),
    (raw, positional) => {
      const [script, args] = firstArgument(
        positional,
        'script',
        'Missing the script to run. Usage: `ddprun [options] script.py [args…]` (or `-m module`, `--no-python command`); see `ddprun --help`.',
      );
      // torchrun: --run-path takes precedence over --no-python.
      if (raw.runPath && raw.python === false) delete raw.python;
      const { options: launch, output } = launchOf(raw, [script, ...args]);
      if (raw.python === false) delete launch.python;
      const notes = applyTorchrunFlags(raw, launch, pre, env);
      return {
        kind: 'launch',
        options: launch,
        output: notes.length ? { ...output, notes } : output,
        detach: detachFlag(raw, launch, output),
      };
    },
  );
}

export function parseTrain(argv: readonly string[]): CliCommand {
  return parseCommand(
    'train',
    normalizeFlagSpelling(argv, VALUE_FLAGS),
    (command) =>
      addFlags(addFlags(command, LAUNCH_FLAGS), DETACH_FLAGS)
        .option(
          '--no-resume',
          "a restart starts the training again, instead of resuming from the run folder's weights/last.pt that this run wrote",
        )
        .usage('[options] module.ClassName key=value…')
        .argument(
          '[trainer]',
          'the trainer class with its module, e.g. ultralytics.models.yolo.detect.DetectionTrainer',
        )
        .argument(
          '[args...]',
          'yolo-style key=value arguments, typed as the yolo CLI types them (3 → int, 0.01 → float, true → True, none → None, [0,1] → list, 0,1 → tuple, else a string)',
        )
        .addHelpText(
          'after',
          `\nThe world size is --nproc-per-node when given, else from device= by Ultralytics' rules (device=0,1 → 2;\ndevice=-1 picks an idle GPU per -1). CUDA_VISIBLE_DEVICES is set like Ultralytics' select_device.\n\n${EXIT_CODES_HELP}`,
        ),
    (raw, positional) => {
      const [name, rest] = firstArgument(
        positional,
        'trainer',
        'Missing the trainer. Usage: `ddprun train [options] module.ClassName key=value…`, e.g. `ddprun train ultralytics.models.yolo.detect.DetectionTrainer model=yolo11n.pt epochs=3`.',
      );
      const { module, className } = parseTrainerName(name);
      const args = parseKeyValues(rest);
      const { options, output } = launchOptions(raw);
      if (raw.resume === false) options.resume = false;
      return {
        kind: 'train',
        options,
        trainer: { module, className, args },
        output,
        detach: detachFlag(raw, options, output),
      };
    },
  );
}

export function parseDoctor(argv: readonly string[]): CliCommand {
  return parseCommand(
    'doctor',
    argv,
    (command) =>
      command
        .allowExcessArguments(true)
        .description(
          'Check this machine for a launch: Python and torch, CUDA and GPUs, NCCL/gloo, the DDP temp dir, a free port, the parent-death guard. Exits 1 when something a launch needs is missing.',
        )
        .option(
          '--fix',
          'install PyTorch through the OS package manager when no Python has it (Debian/Ubuntu: apt-get install -y python3-torch), and sweep stale temp entry files',
        )
        .option('--json', 'print the checks as one JSON object on stdout (what --fix does goes to stderr)'),
    (o, args) => {
      noArguments('doctor', args);
      return { kind: 'doctor', fix: Boolean(o.fix), ...(o.json ? { json: true } : {}) };
    },
  );
}

/** `--detach`, checked against the flags it cannot go with (and `--interactive` against `--detach`/`--json`). */
function detachFlag(
  raw: Record<string, unknown>,
  options: { record?: boolean; interactive?: boolean },
  output: OutputFlags,
): boolean {
  refuseInteractiveWith(options, output.json, Boolean(raw.detach));
  if (!raw.detach) return false;
  if (output.dryRun) throw new UsageError('--detach and --dry-run exclude each other. Keep one of them.', '--detach');
  if (output.ui)
    throw new UsageError(
      '--detach and --ui exclude each other: watch a detached run with `ddprun ui` (it serves every run in the store).',
      '--detach',
    );
  if (options.record === false)
    throw new UsageError(
      "--detach needs the run's record (its id is how you follow and stop it): drop --no-record.",
      '--detach',
    );
  return true;
}

export function parseUi(argv: readonly string[]): CliCommand {
  return parseCommand(
    'ui',
    normalizeFlagSpelling(argv, new Set(['--port', '--host'])),
    (command) =>
      command
        .allowExcessArguments(true)
        .description(
          'Serve the dashboard of every recorded run (runs, ranks, live logs, resource and training charts) and print its URL. Runs until Ctrl-C.',
        )
        .option('--port <n>', 'TCP port (default: 8765, or the next free one)', (v) => parsePort('--port', v))
        .option('--host <address>', 'address to bind; anything but loopback is reachable from the network', '127.0.0.1')
        .option('--open', 'open the URL in a browser (xdg-open)')
        .option('--status', 'print the URL (token included) of every dashboard serving now, and start none'),
    (o, args) => {
      noArguments('ui', args);
      return {
        kind: 'ui',
        port: o.port as number | undefined,
        host: o.host as string,
        open: o.open === true,
        status: o.status === true,
      };
    },
  );
}

function parsePort(flag: string, value: string): number {
  const n = parseInteger(flag, value);
  if (n < 0 || n > 65535)
    throw new UsageError(`Invalid ${flag} ${value}: expected a port, 0-65535 (0: any free port).`, flag);
  return n;
}
