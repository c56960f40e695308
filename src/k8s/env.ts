import { SERVICE_ENV } from './manifest.js';

// Inside a pod, what the engine that started it says about the job, in the order docs/kubernetes.md gives:
// PET_* (torchrun's own variables: the CLI reads them as flags before this), an Indexed Job, Volcano, PyTorchJob v1.
// Read only where Kubernetes is (KUBERNETES_SERVICE_HOST, which the kubelet gives every container).

/** One value and where it came from, for `--dry-run`. */
export interface K8sValue<T> {
  value: T;
  /** The variables it came from, e.g. `JOB_COMPLETION_INDEX`. */
  source: string;
}

export type K8sEngine = typeof PET_ENGINE | 'Indexed Job' | 'Volcano' | 'PyTorchJob';

/** torchrun's own variables, as Kubeflow's TrainJob (and PyTorchJob's elastic policy) set them in every pod. */
export const PET_ENGINE = 'torchrun (PET_*)';

export interface K8sDefaults {
  engine: K8sEngine;
  nnodes?: K8sValue<number>;
  nodeRank?: K8sValue<number>;
  masterAddr?: K8sValue<string>;
  masterPort?: K8sValue<number>;
}

/** A variable of the engine's contract that holds what ddprun cannot use. */
export class K8sEnvProblem extends Error {
  constructor(
    message: string,
    readonly variable: string,
  ) {
    super(message);
  }
}

function integer(env: NodeJS.ProcessEnv, name: string, min: number): number {
  const text = env[name] ?? '';
  if (!/^\d+$/.test(text.trim()) || Number(text) < min)
    throw new K8sEnvProblem(`${name}=${JSON.stringify(text)} is not an integer >= ${min}.`, name);
  return Number(text);
}

/**
 * torchrun's variables: a script's launch reads every PET_<FLAG> as its flag before this (as torchrun does); here
 * they fill the node layout of `ddprun train` too. A range PET_NNODES (elastic) is left to the launch's flags.
 */
function pet(env: NodeJS.ProcessEnv): K8sDefaults {
  const defaults: K8sDefaults = { engine: PET_ENGINE };
  if (env.PET_NNODES && !env.PET_NNODES.includes(':'))
    defaults.nnodes = { value: integer(env, 'PET_NNODES', 1), source: 'PET_NNODES' };
  if (env.PET_NODE_RANK) defaults.nodeRank = { value: integer(env, 'PET_NODE_RANK', 0), source: 'PET_NODE_RANK' };
  if (env.PET_MASTER_ADDR) defaults.masterAddr = { value: env.PET_MASTER_ADDR, source: 'PET_MASTER_ADDR' };
  if (env.PET_MASTER_PORT)
    defaults.masterPort = { value: integer(env, 'PET_MASTER_PORT', 1), source: 'PET_MASTER_PORT' };
  return defaults;
}

/** An Indexed Job: the index is the node rank; pod 0 is `<job>-0.<service>` when ddprun's manifest names the Service. */
function indexedJob(env: NodeJS.ProcessEnv, hostname: string): K8sDefaults {
  const index = integer(env, 'JOB_COMPLETION_INDEX', 0);
  const defaults: K8sDefaults = { engine: 'Indexed Job', nodeRank: { value: index, source: 'JOB_COMPLETION_INDEX' } };
  const service = env[SERVICE_ENV];
  if (service) {
    const suffix = `-${index}`;
    if (!hostname.endsWith(suffix) || hostname.length === suffix.length)
      throw new K8sEnvProblem(
        `the host name ${JSON.stringify(hostname)} is not <job>-${index}, as an Indexed Job's pod ${index} is named: ddprun cannot tell pod 0's name.`,
        'HOSTNAME',
      );
    const job = hostname.slice(0, -suffix.length);
    defaults.masterAddr = { value: `${job}-0.${service}`, source: `the host name ${hostname} and ${SERVICE_ENV}` };
  }
  return defaults;
}

/** `VC_<task>_HOSTS` variables of Volcano's svc plugin. */
function volcanoHosts(env: NodeJS.ProcessEnv): [string, string[]][] {
  return Object.entries(env)
    .filter(([key, value]) => /^VC_.+_HOSTS$/.test(key) && value)
    .map(([key, value]) => [key, (value as string).split(',').filter(Boolean)]);
}

/** MASTER_ADDR/MASTER_PORT/WORLD_SIZE/RANK of a pod-level launcher contract: WORLD_SIZE counts pods, RANK is the pod's. */
function podLevel(env: NodeJS.ProcessEnv, engine: K8sEngine): K8sDefaults {
  const defaults: K8sDefaults = { engine };
  if (env.MASTER_ADDR) defaults.masterAddr = { value: env.MASTER_ADDR, source: 'MASTER_ADDR' };
  if (env.MASTER_PORT) defaults.masterPort = { value: integer(env, 'MASTER_PORT', 1), source: 'MASTER_PORT' };
  if (env.WORLD_SIZE) defaults.nnodes = { value: integer(env, 'WORLD_SIZE', 1), source: 'WORLD_SIZE (pods)' };
  if (env.RANK) defaults.nodeRank = { value: integer(env, 'RANK', 0), source: 'RANK (the pod)' };
  return defaults;
}

/** Volcano: its pytorch plugin's variables, else (the svc plugin alone, one task) the task's hosts and index. */
function volcano(env: NodeJS.ProcessEnv): K8sDefaults {
  const defaults = podLevel(env, 'Volcano');
  const tasks = volcanoHosts(env);
  if (defaults.masterAddr === undefined && tasks.length === 1 && env.VC_TASK_INDEX !== undefined) {
    const [name, hosts] = tasks[0] as [string, string[]];
    defaults.masterAddr = { value: hosts[0] as string, source: `${name} (its first host)` };
    defaults.nnodes ??= { value: hosts.length, source: `${name} (its hosts)` };
    defaults.nodeRank ??= { value: integer(env, 'VC_TASK_INDEX', 0), source: 'VC_TASK_INDEX' };
  }
  return defaults;
}

/**
 * What the pod's engine says about the job's nodes, or undefined outside Kubernetes or when no engine this reads
 * started the pod. Throws K8sEnvProblem for a variable of the engine's contract that ddprun cannot use.
 */
export function k8sLaunchDefaults(env: NodeJS.ProcessEnv, hostname: string): K8sDefaults | undefined {
  if (!env.KUBERNETES_SERVICE_HOST) return undefined;
  if (env.PET_NNODES || env.PET_NODE_RANK || env.PET_MASTER_ADDR) return pet(env);
  if (env.JOB_COMPLETION_INDEX !== undefined) return indexedJob(env, hostname);
  if (env.VC_TASK_INDEX !== undefined || volcanoHosts(env).length > 0) return volcano(env);
  if (env.MASTER_ADDR && env.RANK !== undefined && env.WORLD_SIZE !== undefined) return podLevel(env, 'PyTorchJob');
  return undefined;
}
