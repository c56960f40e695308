import { constants } from 'node:os';
import { PythonNotFoundError, UsageError } from '../errors.js';
import type { LaunchResult } from '../launch/types.js';

// Every exit code of the CLI is decided here.

export const EXIT_OK = 0;
export const EXIT_ERROR = 1;
export const EXIT_USAGE = 2;

export const EXIT_CODES_HELP = `Exit codes:
  0      success (every rank exited 0)
  N      a rank failed with exit code N (the first rank that failed)
  128+N  the first failing rank was killed by signal N (e.g. 137 = SIGKILL, as a shell reports it),
         or ddprun itself was stopped by signal N (130 = Ctrl-C, 143 = SIGTERM)
  124    stopped for a hang (--hang-timeout with --on-hang stop)
  1      any other error (e.g. no Python with torch found; ddprun doctor found a problem)
  2      bad usage: an unknown flag, a missing script, an invalid value; nothing was run`;

/** 128 + the signal's number, as a shell reports a process killed by it. */
export function signalExitCode(signal: NodeJS.Signals): number {
  const number = (constants.signals as Record<string, number | undefined>)[signal];
  return 128 + (number ?? 0);
}

/** The CLI's exit code for a finished launch. */
export function exitCodeForResult(result: LaunchResult): number {
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
  if (error instanceof UsageError) return EXIT_USAGE;
  if (error instanceof PythonNotFoundError) return EXIT_ERROR;
  return EXIT_ERROR;
}
