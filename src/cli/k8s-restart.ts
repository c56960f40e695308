import { listRuns } from '../store/read.js';
import type { RunInfo } from '../store/types.js';

// A JobSet that `ddprun k8s --format jobset --group-restarts N` wrote recreates every pod of the group together after a
// failure or a disruption; the recreated pods' `ddprun train` goes on from the run the group was running, as a requeued
// Slurm job does (./slurm-requeue.ts). The run store must be on a volume every pod and every restart mounts.

/** JobSet's restart attempt of this pod (DDPRUN_K8S_RESTART, from the pod's annotation), when it is one. */
function restartAttempt(env: NodeJS.ProcessEnv): number | undefined {
  const attempt = Number(env.DDPRUN_K8S_RESTART);
  return env.KUBERNETES_SERVICE_HOST && env.DDPRUN_K8S_SERVICE && Number.isInteger(attempt) && attempt > 0
    ? attempt
    : undefined;
}

/**
 * The run a recreated pod continues: in a JobSet's restart attempt N > 0, the newest trainer run of the same job from
 * an earlier attempt, pod 0's (which names the run folder), preempted or failed. Undefined on the first start, for a
 * plain script, or when the store (not on a shared volume) holds no such run.
 */
export function restartedRunOfJob(env: NodeJS.ProcessEnv): RunInfo | undefined {
  const attempt = restartAttempt(env);
  if (attempt === undefined) return undefined;
  return listRuns({ all: true }).find((run) => {
    const pod = run.kubernetes;
    return (
      pod !== undefined &&
      pod.job === env.DDPRUN_K8S_SERVICE &&
      pod.restartAttempt < attempt &&
      (pod.index ?? 0) === 0 &&
      (run.status === 'preempted' || run.status === 'failed') &&
      typeof (run.options.entry as { trainer?: unknown } | undefined)?.trainer === 'object'
    );
  });
}
