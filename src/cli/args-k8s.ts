import { randomBytes } from 'node:crypto';
import { parseDevice } from '../devices.js';
import { UsageError } from '../errors.js';
import { K8S_FORMATS, K8S_MASTER_PORT, badJobName, type K8sFormat } from '../k8s/manifest.js';
import type { LaunchOptions } from '../model/types.js';
import { SUBCOMMANDS, normalizeFlagSpelling } from './argv.js';
import { VALUE_FLAGS, flagName, launchOptions, typed, type OutputFlags, type Spec } from './flag-specs.js';
import { parseInteger } from './flags.js';
import {
  firstArgument,
  launchCommand,
  launchOf,
  parseCommand,
  splitOwnFlags,
  valueFlagsOf,
  type Printed,
} from './subcommand.js';
import { parseKeyValues, parseTrainerName } from './train-args.js';
import { literalToJs } from '../python/smart-value.js';
import type { Command } from 'commander';

/** `ddprun k8s`: the job's manifests, and whether to submit them. */
export interface K8sSubmit {
  format: K8sFormat;
  name: string;
  image: string;
  nodes: number;
  gpusPerNode: number;
  /** Ranks per pod when the command fixes them (a TrainJob's numProcPerNode, which its PET_NPROC_PER_NODE says). */
  procsPerNode?: number;
  namespace?: string;
  shmSize?: string;
  /** --group-restarts: JobSet's failurePolicy.maxRestarts. */
  groupRestarts?: number;
  gracePeriodS: number;
  /** The container's command: `ddprun [train] …` with the launch flags, as every pod runs it. */
  command: string[];
  /** Submit with kubectl and follow the pods (else: print the manifests, submit nothing). */
  apply: boolean;
}

const K8S_FLAGS: Spec[] = [
  { flags: '--image <image>', description: 'the container image: ddprun, Python and torch on PATH (required)' },
  {
    flags: '--format <format>',
    description:
      'indexed-job: a headless Service and an Indexed Job; jobset: a JobSet; trainjob: a Kubeflow TrainJob (default: indexed-job)',
    choices: [...K8S_FORMATS],
  },
  { flags: '--job-name <name>', description: 'the Job and Service name, a DNS label (default: ddprun-<random>)' },
  { flags: '--nodes <n>', description: 'pods, one ddprun each (default: --nnodes, else 1)', parse: parsePositive },
  {
    flags: '--gpus-per-node <n>',
    description: 'nvidia.com/gpu limit per pod, 0 for a CPU job (default: --nproc-per-node, or the GPUs of device=)',
    parse: parseNonNegative,
  },
  { flags: '--namespace <ns>', description: "the objects' namespace (default: kubectl's)" },
  { flags: '--shm-size <quantity>', description: "size limit of the pod's memory-backed /dev/shm, e.g. 16Gi" },
  {
    flags: '--group-restarts <n>',
    description: 'jobset: recreate every pod of the group together up to N times after a failure (default: 0)',
    parse: parseNonNegative,
  },
  { flags: '--apply', description: "submit with kubectl and follow the pods' logs to the Job's end" },
];

/** --grace-period's default (seconds), as the launch's. */
const DEFAULT_GRACE_S = 30;

function parsePositive(flag: string, value: string): number {
  const n = parseInteger(flag, value);
  if (n < 1) throw new UsageError(`${flag} expects a positive integer, got ${JSON.stringify(value)}.`, flag);
  return n;
}

function parseNonNegative(flag: string, value: string): number {
  const n = parseInteger(flag, value);
  if (n < 0) throw new UsageError(`${flag} expects 0 or a positive integer, got ${JSON.stringify(value)}.`, flag);
  return n;
}

const K8S_VALUE_FLAGS = new Set(valueFlagsOf(K8S_FLAGS));
const OWN_FLAGS = new Set([...K8S_FLAGS.map(flagName), '--dry-run', '--json']);
/** What each pod's ddprun reads from Kubernetes: a flag for it would be the same on every pod, which is wrong. */
const FROM_KUBERNETES = ['--node-rank', '--master-addr', '--master-port', '--standalone'];

function k8sCommand(command: Command): Command {
  return launchCommand(command, K8S_FLAGS)
    .usage('--image IMAGE [--nodes N] [options] script.py [args…] | train module.Class key=value…')
    .description(
      'Write the Kubernetes manifests of a ddprun launch: a headless Service and an Indexed Job (or a JobSet, a\n' +
        "TrainJob), one pod per node, each running `ddprun` with the same flags; each pod's ddprun reads its node\n" +
        'rank and the master from Kubernetes. Prints them as YAML (--json: JSON); --apply submits them with kubectl.',
    )
    .argument('[script]', 'the Python script (or `train` and a trainer class), as each pod runs it')
    .argument('[args...]', 'its arguments, passed untouched');
}

/** The job's pods: --nodes, else --nnodes; refusals for what each pod reads from Kubernetes. */
function jobNodes(own: Record<string, unknown>, raw: Record<string, unknown>, nnodes: LaunchOptions['nnodes']): number {
  for (const flag of FROM_KUBERNETES) {
    const key = flag.slice(2).replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    if (raw[key] !== undefined)
      throw new UsageError(
        `${flag} is what each pod's ddprun reads from Kubernetes (its index, the Service's name for pod 0, port ${K8S_MASTER_PORT}). Drop ${flag}.`,
        flag,
      );
  }
  const nodes = own.nodes as number | undefined;
  if (nnodes !== undefined && typeof nnodes !== 'number')
    throw new UsageError(
      `--nnodes ${JSON.stringify(nnodes)}: a Kubernetes job has a fixed number of pods; use --nodes N (elastic jobs: see docs/kubernetes.md).`,
      '--nnodes',
    );
  if (nodes !== undefined && nnodes !== undefined && nodes !== nnodes)
    throw new UsageError(`--nodes ${nodes} and --nnodes ${nnodes} disagree: drop --nnodes.`, '--nnodes');
  return nodes ?? nnodes ?? 1;
}

/** GPUs per pod: --gpus-per-node, else a numeric --nproc-per-node, else the CUDA devices of device=, else 0. */
function gpusPerNode(own: Record<string, unknown>, nproc: LaunchOptions['nprocPerNode'], device?: unknown): number {
  if (own.gpusPerNode !== undefined) return own.gpusPerNode as number;
  if (typeof nproc === 'number') return nproc;
  if (nproc === 'gpu' || nproc === 'auto')
    throw new UsageError(
      `--nproc-per-node ${nproc} counts the GPUs a pod has, but the manifest must ask for them: add --gpus-per-node N.`,
      '--gpus-per-node',
    );
  if (device === undefined) return 0;
  const parsed = parseDevice(device);
  return parsed.kind === 'cuda' ? parsed.ids.length : 0;
}

interface Parts {
  own: Record<string, unknown>;
  raw: Record<string, unknown>;
  flags: string[];
  rest: string[];
}

/** The container's command, and the GPUs: `ddprun [flags] script args` or `ddprun train [flags] Class k=v`. */
function commandOf(
  { own, raw, flags, rest }: Parts,
  nodes: number,
): { command: string[]; gpus: number; procs?: number } {
  const head = ['ddprun', ...(rest[0] === 'train' ? ['train'] : [])];
  const common = ['--nnodes', String(nodes), '--master-port', String(K8S_MASTER_PORT)];
  const noNnodes = dropFlag(flags, '--nnodes');
  if (rest[0] === 'train') {
    if (raw.module || raw.python === false)
      throw new UsageError('-m and --no-python run a script, not a trainer: drop them, or drop `train`.', '--module');
    const [name, kv] = firstArgument(rest.slice(1), 'trainer', 'Missing the trainer after `train`.');
    parseTrainerName(name);
    const args = parseKeyValues(kv);
    const device = args.has('device') ? literalToJs(args.get('device')!) : undefined;
    const { options } = launchOptions(raw);
    const parsed = device === undefined ? undefined : parseDevice(device);
    // ddprun counts a trainer's ranks from device= (CUDA ids), as here.
    const procs =
      typeof options.nprocPerNode === 'number'
        ? options.nprocPerNode
        : parsed?.kind === 'cuda'
          ? parsed.ids.length
          : undefined;
    return {
      command: [...head, ...common, ...noNnodes, ...rest.slice(1)],
      gpus: gpusPerNode(own, options.nprocPerNode, device),
      ...(procs !== undefined ? { procs } : {}),
    };
  }
  firstArgument(
    rest,
    'script',
    'Missing the script to run. Usage: `ddprun k8s --image IMAGE [options] script.py [args…]`.',
  );
  const { options } = launchOf(raw, rest);
  // A script named like a subcommand would be read as one by the pod's ddprun.
  const guard = (SUBCOMMANDS as readonly string[]).includes(rest[0] as string) ? ['--'] : [];
  return {
    command: [...head, ...common, ...noNnodes, ...guard, ...rest],
    gpus: gpusPerNode(own, options.nprocPerNode),
    // A script's ranks: the number given, else 1 (ddprun's default; a symbolic one is refused above for GPUs).
    ...(typeof options.nprocPerNode === 'number' || options.nprocPerNode === undefined
      ? { procs: options.nprocPerNode ?? 1 }
      : {}),
  };
}

/** `flags` without `flag` (and its value): the command names it once, from the job's pods. */
function dropFlag(flags: readonly string[], flag: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < flags.length; i += 1) {
    const token = flags[i] as string;
    if (token === flag) i += 1;
    else if (!token.startsWith(`${flag}=`)) out.push(token);
  }
  return out;
}

function k8sSubmit(parts: Parts): { kind: 'k8s'; submit: K8sSubmit; output: OutputFlags } {
  const { own, raw } = parts;
  const { options, output } = launchOptions(raw);
  if (own.image === undefined || own.image === '')
    throw new UsageError(
      'Missing --image: the container image every pod runs (ddprun, Python and torch in it).',
      '--image',
    );
  if (options.interactive)
    throw new UsageError('--interactive needs a terminal, which a pod does not have.', '--interactive');
  const nodes = jobNodes(own, raw, options.nnodes);
  const name = (own.jobName as string | undefined) ?? `ddprun-${randomBytes(3).toString('hex')}`;
  const bad = badJobName(name);
  if (bad) throw new UsageError(`--job-name ${JSON.stringify(name)} ${bad}.`, '--job-name');
  const { command, gpus, procs } = commandOf(parts, nodes);
  const submit: K8sSubmit = {
    format: (own.format as K8sFormat | undefined) ?? 'indexed-job',
    name,
    image: own.image as string,
    nodes,
    gpusPerNode: gpus,
    gracePeriodS: Math.ceil((options.gracePeriodMs ?? DEFAULT_GRACE_S * 1000) / 1000),
    command,
    apply: Boolean(own.apply),
  };
  if (procs !== undefined) submit.procsPerNode = procs;
  if (own.namespace !== undefined) submit.namespace = own.namespace as string;
  if (own.shmSize !== undefined) submit.shmSize = own.shmSize as string;
  if (own.groupRestarts !== undefined) {
    if (submit.format !== 'jobset')
      throw new UsageError(
        `--group-restarts is JobSet's failurePolicy.maxRestarts: add --format jobset (an Indexed Job cannot restart its group; see docs/kubernetes.md#restarts).`,
        '--group-restarts',
      );
    submit.groupRestarts = own.groupRestarts as number;
  }
  if (submit.apply && output.dryRun)
    throw new UsageError('--apply and --dry-run exclude each other: --dry-run prints, --apply submits.', '--apply');
  return { kind: 'k8s', submit, output };
}

/** `ddprun k8s …`: the job's manifests from the launch's command line. */
export function parseK8s(argv: readonly string[]): { kind: 'k8s'; submit: K8sSubmit; output: OutputFlags } | Printed {
  const valueFlags = new Set([...VALUE_FLAGS, ...K8S_VALUE_FLAGS]);
  const tokens = normalizeFlagSpelling(argv, valueFlags);
  return parseCommand('k8s', tokens, k8sCommand, (raw) => {
    const [flags, rest] = splitOwnFlags(tokens, valueFlags, OWN_FLAGS);
    return k8sSubmit({ own: typed(K8S_FLAGS, raw), raw, flags, rest });
  });
}
