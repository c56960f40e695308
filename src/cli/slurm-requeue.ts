import { EXIT_OK } from '../exit-codes.js';
import { warningSignal } from '../launch/run/preemption.js';
import type { LaunchResult } from '../model/types.js';
import { listRuns } from '../store/read.js';
import type { RunInfo } from '../store/types.js';
import { runCommand } from '../slurm/run-command.js';

// `ddprun slurm --requeue` on each node: after the warning signal, node 0 requeues the job; when the requeued job
// starts again (SLURM_RESTART_COUNT > 0), a trainer run resumes the run the warning preempted.

/** The job this ddprun runs in, when `ddprun slurm --requeue` wrote its batch script. */
function requeueJob(env: NodeJS.ProcessEnv): string | undefined {
  return env.DDPRUN_REQUEUE === '1' && env.SLURM_JOB_ID ? env.SLURM_JOB_ID : undefined;
}

/**
 * After a preemption by Slurm's warning signal under `--requeue`: node 0 requeues the job (`scontrol requeue`; Slurm
 * would not on its own at a time limit) and exits 75; any other node exits 0, so that `srun --kill-on-bad-exit`
 * does not kill node 0's ranks while they save their checkpoint. Returns the exit code, or undefined when this is no
 * such preemption (a SIGTERM from scancel is never requeued).
 */
export async function requeueAfterPreemption(
  result: LaunchResult,
  env: NodeJS.ProcessEnv,
  stderr: NodeJS.WritableStream,
): Promise<number | undefined> {
  const job = requeueJob(env);
  if (!job || !result.preempted || result.preempted.signal !== warningSignal(env)) return undefined;
  if ((env.SLURM_NODEID ?? '0') !== '0') {
    stderr.write(`ddprun: preempted; node 0 requeues Slurm job ${job}\n`);
    return EXIT_OK;
  }
  try {
    const requeue = await runCommand(['scontrol', 'requeue', job], { env, timeoutMs: 30_000 });
    stderr.write(
      requeue.exitCode === 0
        ? `ddprun: preempted; requeued Slurm job ${job} (scontrol requeue): it resumes when it starts again\n`
        : `ddprun: preempted; scontrol requeue ${job} failed (exit ${requeue.exitCode}): ${requeue.stderr.trim()}\n`,
    );
  } catch (error) {
    stderr.write(`ddprun: preempted; could not requeue Slurm job ${job}: ${(error as Error).message}\n`);
  }
  return result.exitCode;
}

/**
 * The run a requeued job continues: in a job that `ddprun slurm --requeue` wrote and Slurm restarted
 * (`SLURM_RESTART_COUNT` > 0), the newest preempted trainer run of the same job, node 0's (which names the run
 * folder). Undefined when there is none (the first start, a plain script, a job not preempted by ddprun).
 */
export function preemptedRunOfJob(env: NodeJS.ProcessEnv): RunInfo | undefined {
  const job = requeueJob(env);
  if (!job || !(Number(env.SLURM_RESTART_COUNT) > 0)) return undefined;
  return listRuns({ all: true }).find(
    (run) =>
      run.slurm?.jobId === job &&
      (run.slurm.nodeId ?? 0) === 0 &&
      run.status === 'preempted' &&
      typeof (run.options.entry as { trainer?: unknown } | undefined)?.trainer === 'object',
  );
}
