import { constants } from 'node:os';
import { UsageError } from './errors.js';
import type { LaunchResult, RootCause } from './model/types.js';

// Every exit code is decided here: the CLI's commands, and the library's `LaunchResult.exitCode`, which is the CLI's.
// Nothing here does I/O or depends on the CLI, so the library imports it too.

export const EXIT_OK = 0;
export const EXIT_ERROR = 1;
export const EXIT_USAGE = 2;

export const EXIT_CODES_HELP = `Exit codes:
  0      success (every rank exited 0)
  N      a rank failed with exit code N (the first rank that failed)
  128+N  the first failing rank was killed by signal N (e.g. 137 = SIGKILL, as a shell reports it),
         or ddprun itself was stopped by signal N (130 = Ctrl-C, 143 = \`ddprun stop\`)
  124    stopped for a hang (--hang-timeout with --on-hang stop)
  75     preempted: stopped by a SIGTERM that no \`ddprun stop\` sent (a scheduler, Kubernetes, kill) or by
         the scheduler's warning signal; the ranks had the grace period to checkpoint (EX_TEMPFAIL: try again)
  1      any other error (e.g. no Python with torch found; ddprun doctor found a problem)
  2      bad usage: an unknown flag, a missing script, an invalid value; nothing was run`;

/** 128 + the signal's number, as a shell reports a process killed by it (a name, or the number itself). */
export function signalExitCode(signal: NodeJS.Signals | number): number {
  const number =
    typeof signal === 'number' ? signal : (constants.signals as Record<string, number | undefined>)[signal];
  return 128 + (number ?? 0);
}

/** The exit code of a process that ended with `code`, or was killed by `signal`, as a shell reports it. */
export function processExitCode(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  return signal ? signalExitCode(signal) : EXIT_ERROR;
}

/** The exit code of a preempted launch (`LaunchResult.preempted`): sysexits.h's EX_TEMPFAIL, "try again later". */
export const EXIT_PREEMPTED = 75;

/** The exit code of a job stopped for a hang (`--on-hang stop`): `timeout`'s. */
export const EXIT_HANG = 124;

/** A failed launch's exit code: the failing rank's code, 128+N when signal N killed it, 124 for a hang; never 0. */
export function exitCodeOfRootCause(cause: RootCause): number {
  if (cause.explanation?.kind === 'hang') return EXIT_HANG;
  if (cause.signal) return signalExitCode(cause.signal);
  return cause.exitCode && cause.exitCode > 0 && cause.exitCode < 256 ? cause.exitCode : EXIT_ERROR;
}

/** How a Slurm job ended, as far as its exit code goes (slurm/'s `JobEnd` has these and more). */
export interface JobExit {
  exitCode: number;
  signal: number;
  ok: boolean;
}

/** `ddprun slurm --wait`: the batch script's exit code, else 128+signal, else 1 when the job did not complete. */
export function exitCodeForJob(end: JobExit): number {
  return Math.min(255, end.exitCode || (end.signal ? signalExitCode(end.signal) : end.ok ? EXIT_OK : EXIT_ERROR));
}

/** `ddprun doctor`: 1 when something a launch needs is missing. */
export function exitCodeForChecks(failed: boolean): number {
  return failed ? EXIT_ERROR : EXIT_OK;
}

/** The CLI's exit code for a finished launch. */
export function exitCodeForResult(result: LaunchResult): number {
  if (result.preempted) return EXIT_PREEMPTED;
  if (result.signal) return signalExitCode(result.signal);
  if (result.exitCode === 0) return EXIT_OK;
  const cause = result.rootCause;
  if (cause?.signal) return signalExitCode(cause.signal);
  if (cause?.exitCode !== undefined && cause.exitCode !== null && cause.exitCode > 0 && cause.exitCode <= 255)
    return cause.exitCode;
  // A failure always exits non-zero, even when a code cannot be passed through as is.
  return result.exitCode > 0 && result.exitCode <= 255 ? result.exitCode : EXIT_ERROR;
}

/** The CLI's exit code for an error thrown before or around a launch. */
export function exitCodeForError(error: unknown): number {
  return error instanceof UsageError ? EXIT_USAGE : EXIT_ERROR;
}
