import { SlurmEnvError } from './errors.js';
import { expandSlurmNodelist } from './nodelist.js';

/** A derived launch value and where it came from, for `--dry-run`. */
export interface SlurmValue<T> {
  value: T;
  /** The variable it was read from, e.g. `SLURM_NNODES`. */
  source: string;
  /** How it was derived, when it is not the variable's plain value. */
  detail?: string;
}

/** What a Slurm allocation says about this launch; a field is absent when Slurm did not set its variables. */
export interface SlurmDefaults {
  jobId: string;
  nnodes?: SlurmValue<number>;
  nodeRank?: SlurmValue<number>;
  masterAddr?: SlurmValue<string>;
  masterPort: SlurmValue<number>;
  /** Absent: no GPU or task count from Slurm, so torchrun's `auto` rule applies. */
  nprocPerNode?: SlurmValue<number>;
}

/**
 * Master ports are `MASTER_PORT_BASE + jobId % MASTER_PORT_SPAN`: 20000–29999, below Linux's
 * ephemeral range (32768–60999), so no outgoing connection can already hold the port.
 */
export const MASTER_PORT_BASE = 20_000;
export const MASTER_PORT_SPAN = 10_000;

/**
 * Reads the launch options that a Slurm job implies (`--nnodes`, `--node-rank`, `--master-addr`,
 * `--master-port`, `--nproc-per-node`), each with its source, so that the same `ddprun` command
 * is right on every node of an allocation. `undefined` outside Slurm (`SLURM_JOB_ID` unset).
 */
export function slurmLaunchDefaults(env: NodeJS.ProcessEnv): SlurmDefaults | undefined {
  const jobId = read(env, 'SLURM_JOB_ID');
  if (jobId === undefined) return undefined;
  const defaults: SlurmDefaults = { jobId: jobId.value, masterPort: slurmMasterPort(jobId.value) };

  const nnodes = readPositiveInt(env, ['SLURM_NNODES', 'SLURM_JOB_NUM_NODES']);
  if (nnodes) defaults.nnodes = nnodes;

  const nodeId = read(env, 'SLURM_NODEID');
  if (nodeId) defaults.nodeRank = { value: parseInteger(nodeId, 0), source: nodeId.source };

  // Inside a step, SLURM_NODEID counts the step's nodes, so the step's first node is rank 0's.
  const nodelist = first(env, ['SLURM_STEP_NODELIST', 'SLURM_JOB_NODELIST', 'SLURM_NODELIST']);
  if (nodelist) {
    let hosts: string[];
    try {
      hosts = expandSlurmNodelist(nodelist.value);
    } catch (error) {
      throw new SlurmEnvError(
        `${nodelist.source}=${nodelist.value} is not a node list: ${(error as Error).message}`,
        nodelist.source,
        nodelist.value,
      );
    }
    const host = hosts[0];
    if (host === undefined)
      throw new SlurmEnvError(`${nodelist.source} is set but names no node.`, nodelist.source, nodelist.value);
    defaults.masterAddr = { value: host, source: nodelist.source, detail: `first host of ${nodelist.value}` };
  }

  const nproc = slurmNprocPerNode(env);
  if (nproc) defaults.nprocPerNode = nproc;
  return defaults;
}

/** The same port on every node, from the job id alone; a non-numeric id is hashed. */
export function slurmMasterPort(jobId: string): SlurmValue<number> {
  const numeric = /^\d+$/.test(jobId);
  const key = numeric ? BigInt(jobId) : BigInt(fnv1a(jobId));
  const value = MASTER_PORT_BASE + Number(key % BigInt(MASTER_PORT_SPAN));
  const of = numeric ? jobId : `hash(${JSON.stringify(jobId)})`;
  return { value, source: 'SLURM_JOB_ID', detail: `${MASTER_PORT_BASE} + ${of} % ${MASTER_PORT_SPAN}` };
}

/**
 * Ranks on this node: the GPUs Slurm gave it, else the devices in CUDA_VISIBLE_DEVICES, else
 * SLURM_NTASKS_PER_NODE when above 1. A value of 1 there is what the expected one-ddprun-per-node
 * layout (`--ntasks-per-node=1`) sets itself and says nothing about ranks, so it is ignored and
 * torchrun's `auto` rule decides.
 */
function slurmNprocPerNode(env: NodeJS.ProcessEnv): SlurmValue<number> | undefined {
  const gpus = read(env, 'SLURM_GPUS_ON_NODE');
  if (gpus) {
    const count = parseInteger(gpus, 0);
    if (count > 0) return { value: count, source: gpus.source };
  }
  const visible = read(env, 'CUDA_VISIBLE_DEVICES');
  // Slurm writes `NoDevFiles` when a GPU gres has no device files.
  if (visible && visible.value !== 'NoDevFiles') {
    const devices = visible.value.split(',').filter((device) => device.trim() !== '');
    if (devices.length > 0) {
      return { value: devices.length, source: visible.source, detail: `${devices.length} devices in ${visible.value}` };
    }
  }
  const tasks = read(env, 'SLURM_NTASKS_PER_NODE');
  if (tasks) {
    const count = parseInteger(tasks, 1);
    if (count > 1) return { value: count, source: tasks.source };
  }
  return undefined;
}

interface Read {
  source: string;
  value: string;
}

/** A variable's value, trimmed; unset and empty are the same. */
function read(env: NodeJS.ProcessEnv, name: string): Read | undefined {
  const value = env[name]?.trim();
  return value ? { source: name, value } : undefined;
}

function first(env: NodeJS.ProcessEnv, names: readonly string[]): Read | undefined {
  for (const name of names) {
    const found = read(env, name);
    if (found) return found;
  }
  return undefined;
}

function readPositiveInt(env: NodeJS.ProcessEnv, names: readonly string[]): SlurmValue<number> | undefined {
  const found = first(env, names);
  return found ? { value: parseInteger(found, 1), source: found.source } : undefined;
}

function parseInteger(found: Read, min: number): number {
  const value = Number(found.value);
  if (!/^\d+$/.test(found.value) || !Number.isSafeInteger(value) || value < min) {
    throw new SlurmEnvError(
      `Expected ${found.source} to be an integer of at least ${min}, got ${JSON.stringify(found.value)}.`,
      found.source,
      found.value,
    );
  }
  return value;
}

/** 32-bit FNV-1a, enough to spread non-numeric job ids over the port range. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(text, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}
