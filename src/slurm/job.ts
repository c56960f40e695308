import { setTimeout as delay } from 'node:timers/promises';
import { UsageError } from '../errors.js';
import { SlurmCommandError, SlurmWaitTimeoutError } from './errors.js';
import { runCommand } from './run-command.js';

/** One Slurm client call may take this long before it is killed (an unreachable slurmctld makes them hang). */
const COMMAND_TIMEOUT_MS = 60_000;

/** States after which a job never runs again (`squeue --help`, `sacct --helpformat` states). */
const FINAL_STATES = new Set([
  'BOOT_FAIL',
  'CANCELLED',
  'COMPLETED',
  'DEADLINE',
  'FAILED',
  'NODE_FAIL',
  'OUT_OF_MEMORY',
  'PREEMPTED',
  'REVOKED',
  'SPECIAL_EXIT',
  'TIMEOUT',
]);

export interface SubmitOptions {
  /** Where sbatch runs: the job's working directory unless the script says `--chdir`. @default process.cwd() */
  cwd?: string;
  /** sbatch's environment; the job inherits it (sbatch's `--export=ALL`). @default process.env */
  env?: NodeJS.ProcessEnv;
}

/** Submits a batch script (on sbatch's stdin, no file written) and returns the job id. */
export async function submitSbatch(script: string, options: SubmitOptions = {}): Promise<{ jobId: string }> {
  const command = ['sbatch', '--parsable'];
  const result = await runCommand(command, {
    env: options.env ?? process.env,
    cwd: options.cwd ?? process.cwd(),
    input: script,
    timeoutMs: COMMAND_TIMEOUT_MS,
  });
  // --parsable prints `jobid` or `jobid;cluster`.
  const jobId = /^(\d+)(?:;\S*)?\s*$/.exec(result.stdout)?.[1];
  if (result.exitCode !== 0 || jobId === undefined) {
    const detail = result.stderr.trim() || result.stdout.trim() || '(no output)';
    throw new SlurmCommandError(`sbatch refused the job (exit code ${result.exitCode}): ${detail}`, {
      command,
      exitCode: result.exitCode,
      stderr: result.stderr,
    });
  }
  return { jobId };
}

export interface WaitOptions {
  /**
   * Give up (SlurmWaitTimeoutError) after this long; the job keeps running. A pending job can wait forever, so bound
   * it.
   */
  timeoutMs: number;
  /** Time between two looks at the job. @default 1000 */
  pollMs?: number;
  /** Environment of scontrol/sacct (SLURM_CONF…). @default process.env */
  env?: NodeJS.ProcessEnv;
  /** Aborting stops the wait (rejects with the abort reason); the job keeps running. */
  signal?: AbortSignal;
}

export interface JobEnd {
  jobId: string;
  /** Slurm's final state: COMPLETED, FAILED, CANCELLED, TIMEOUT, NODE_FAIL, … */
  state: string;
  /** The batch script's exit code (the X of Slurm's `ExitCode=X:Y`). */
  exitCode: number;
  /** The signal that ended it, 0 when none (the Y of `ExitCode=X:Y`). */
  signal: number;
  /** COMPLETED with exit code 0. */
  ok: boolean;
}

/**
 * Follows a job until it ends. Reads `scontrol show job` (no accounting needed; finished jobs stay
 * visible for MinJobAge) and falls back to `sacct` once slurmctld has forgotten the job.
 */
export async function waitForJob(jobId: string, options: WaitOptions): Promise<JobEnd> {
  if (!/^\d+(?:_\d+)?$/.test(jobId))
    throw new UsageError(`Expected a Slurm job id such as "1234", got ${JSON.stringify(jobId)}.`);
  const pollMs = options.pollMs ?? 1000;
  const env = options.env ?? process.env;
  const deadline = Date.now() + options.timeoutMs;
  let lastState: string | undefined;
  while (true) {
    options.signal?.throwIfAborted();
    const seen = (await scontrolJob(jobId, env)) ?? (await sacctJob(jobId, env));
    lastState = seen.state;
    // COMPLETING is a flag over the final state: the nodes are still ending the job's processes.
    if (FINAL_STATES.has(seen.state)) {
      return { jobId, ...seen, ok: seen.state === 'COMPLETED' && seen.exitCode === 0 && seen.signal === 0 };
    }
    const left = deadline - Date.now();
    if (left <= 0) {
      throw new SlurmWaitTimeoutError(
        `Slurm job ${jobId} did not end within ${options.timeoutMs} ms (last state ${lastState}); it was left running.`,
        jobId,
        lastState,
      );
    }
    await delay(Math.min(pollMs, left), undefined, { signal: options.signal });
  }
}

interface JobSeen {
  state: string;
  exitCode: number;
  signal: number;
}

/** The job as slurmctld sees it; `undefined` once it has been purged (older than MinJobAge). */
async function scontrolJob(jobId: string, env: NodeJS.ProcessEnv): Promise<JobSeen | undefined> {
  const command = ['scontrol', '--oneliner', 'show', 'job', jobId];
  const result = await runCommand(command, { env, timeoutMs: COMMAND_TIMEOUT_MS });
  if (result.exitCode !== 0) {
    if (/Invalid job id/i.test(result.stderr + result.stdout)) return undefined;
    throw new SlurmCommandError(
      `scontrol could not show job ${jobId} (exit code ${result.exitCode}): ${result.stderr.trim()}`,
      {
        command,
        exitCode: result.exitCode,
        stderr: result.stderr,
      },
    );
  }
  // Array and heterogeneous jobs print one line per part; the first is the job asked for.
  const line = result.stdout.split('\n')[0] ?? '';
  const state = /\bJobState=(\S+)/.exec(line)?.[1];
  const exit = /\bExitCode=(\d+):(\d+)/.exec(line);
  if (state === undefined || exit === null) {
    throw new SlurmCommandError(`scontrol printed no JobState/ExitCode for job ${jobId}: ${line.slice(0, 200)}`, {
      command,
    });
  }
  return { state, exitCode: Number(exit[1]), signal: Number(exit[2]) };
}

/** The job from accounting, for jobs slurmctld no longer holds. */
async function sacctJob(jobId: string, env: NodeJS.ProcessEnv): Promise<JobSeen> {
  const command = [
    'sacct',
    '--jobs',
    jobId,
    '--allocations',
    '--noheader',
    '--parsable2',
    '--format',
    'State,ExitCode',
  ];
  const result = await runCommand(command, { env, timeoutMs: COMMAND_TIMEOUT_MS });
  const line = result.stdout.split('\n').find((text) => text.includes('|'));
  const match = line === undefined ? null : /^(\S+)[^|]*\|(\d+):(\d+)$/.exec(line.trim());
  if (result.exitCode !== 0 || match === null) {
    const detail = result.stderr.trim() || result.stdout.trim() || 'no record of it';
    throw new SlurmCommandError(
      `Slurm job ${jobId} is no longer known to slurmctld, and sacct cannot tell how it ended: ${detail}`,
      {
        command,
        exitCode: result.exitCode,
        stderr: result.stderr,
      },
    );
  }
  return { state: match[1] as string, exitCode: Number(match[2]), signal: Number(match[3]) };
}
