import { UsageError } from '../errors.js';
import type { LaunchOptions } from '../model/types.js';
import { slurmLaunchDefaults, type SlurmValue } from './defaults.js';
import { SlurmEnvError } from './errors.js';
import { detectSlurmMissingStep, detectSlurmMultiTask } from './layout.js';

/** The launch options a Slurm allocation can fill, with their flags, in the order `--dry-run` lists them. */
const SLURM_OPTIONS = [
  ['nnodes', '--nnodes'],
  ['nodeRank', '--node-rank'],
  ['masterAddr', '--master-addr'],
  ['masterPort', '--master-port'],
  ['nprocPerNode', '--nproc-per-node'],
] as const;

type SlurmOption = (typeof SLURM_OPTIONS)[number][0];

const AUTO_NPROC: SlurmValue<string> = {
  value: 'auto',
  source: 'torchrun auto rule',
  detail: 'Slurm gave no GPU or task count for this node: GPUs if CUDA is available, else CPUs',
};

/** Where one of those options' value came from, for `--dry-run`. */
export interface SlurmOrigin {
  option: SlurmOption;
  flag: string;
  value: string | number;
  /** `command line` when the user passed the flag, else the Slurm variable (or `torchrun auto rule`). */
  source: string;
  detail?: string;
  /** What Slurm said, when the user's flag won over it. */
  slurm?: SlurmValue<string | number>;
}

/** What a Slurm allocation contributed to this launch. */
export interface SlurmProvenance {
  jobId: string;
  values: SlurmOrigin[];
}

/**
 * Inside a Slurm allocation (SLURM_JOB_ID set), fills every option of `--nnodes`, `--node-rank`,
 * `--master-addr`, `--master-port` and `--nproc-per-node` the user did not pass from the allocation;
 * the user's flags win. A single-node launch (`--nnodes 1`, `--standalone`) takes no node rank or
 * master from Slurm. `fillNproc: false` leaves the rank count to the caller (trainer mode: `device=`);
 * `autoNproc: false` keeps the usual default (1) when Slurm names no count, where torchrun's `auto` rule
 * cannot apply (a `--no-python` command: no torch to count GPUs).
 * Outside Slurm, returns the options unchanged. Throws UsageError for an unusable Slurm variable.
 */
export function applySlurmDefaults<T extends Omit<LaunchOptions, 'entry'>>(
  options: T,
  env: NodeJS.ProcessEnv,
  { fillNproc = true, autoNproc = true }: { fillNproc?: boolean; autoNproc?: boolean } = {},
): { options: T; slurm?: SlurmProvenance } {
  let defaults;
  try {
    defaults = slurmLaunchDefaults(env);
  } catch (error) {
    if (error instanceof SlurmEnvError)
      throw new UsageError(
        `${error.message} ddprun reads it because SLURM_JOB_ID is set; pass the launch flags yourself or fix the variable.`,
        error.variable,
      );
    throw error;
  }
  if (defaults === undefined) return { options };

  const derived: Partial<Record<SlurmOption, SlurmValue<string | number>>> = {
    nnodes: defaults.nnodes,
    nodeRank: defaults.nodeRank,
    masterAddr: defaults.masterAddr,
    masterPort: defaults.masterPort,
    nprocPerNode: defaults.nprocPerNode ?? (autoNproc ? AUTO_NPROC : undefined),
  };
  const singleNode = options.nnodes === 1;
  const filled: Record<string, unknown> = { ...options };
  const values: SlurmOrigin[] = [];
  for (const [option, flag] of SLURM_OPTIONS) {
    if (option === 'nprocPerNode' && !fillNproc) continue;
    const slurm = derived[option];
    const given = options[option];
    if (given !== undefined) {
      values.push({ option, flag, value: given, source: 'command line', ...(slurm ? { slurm } : {}) });
      continue;
    }
    // One node needs neither a node rank nor someone else's address: rank 0 on this machine, a free port.
    if (slurm === undefined || (singleNode && option !== 'nprocPerNode')) continue;
    filled[option] = slurm.value;
    values.push({
      option,
      flag,
      value: slurm.value,
      source: slurm.source,
      ...(slurm.detail ? { detail: slurm.detail } : {}),
    });
  }
  return { options: filled as T, slurm: { jobId: defaults.jobId, values } };
}

/**
 * Refuses a launch that the Slurm layout would turn into a mess (several ddprun tasks on one node, or
 * a multi-node batch script without srun), with the layout checks' own message; exit code 2.
 */
export function checkSlurmLayout(env: NodeJS.ProcessEnv, options: Pick<LaunchOptions, 'nnodes'> = {}): void {
  // A single-node launch asked for on the command line (--nnodes 1, --standalone) needs no srun step.
  const singleNode = options.nnodes === 1 || options.nnodes === '1';
  const problem = detectSlurmMultiTask(env) ?? (singleNode ? undefined : detectSlurmMissingStep(env));
  if (problem) throw new UsageError(problem);
}
