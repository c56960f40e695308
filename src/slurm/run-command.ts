import { spawn } from 'node:child_process';
import { processExitCode } from '../exit-codes.js';
import { SlurmCommandError } from './errors.js';
import { UsageError } from '../errors.js';

export interface CommandResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface RunCommandOptions {
  env: NodeJS.ProcessEnv;
  cwd?: string;
  input?: string;
  /** Killed (SIGKILL) after this long; Slurm clients can hang on an unreachable controller. */
  timeoutMs: number;
}

/**
 * Runs one Slurm client command to completion and returns its output, whatever its exit code.
 * Throws SlurmCommandError only when it cannot start or runs past `timeoutMs`.
 */
export function runCommand(command: readonly string[], options: RunCommandOptions): Promise<CommandResult> {
  const [file, ...args] = command;
  if (file === undefined) throw new UsageError('Expected a command to run, got an empty array.');
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env: options.env, cwd: options.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    // The child may exit before reading its stdin; that EPIPE is not our failure.
    child.stdin.on('error', () => {});
    child.stdin.end(options.input ?? '');
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs);
    timer.unref();
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(
        new SlurmCommandError(`Could not run ${command.join(' ')}: ${error.message}`, { command }, { cause: error }),
      );
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) {
        reject(
          new SlurmCommandError(`${command.join(' ')} did not finish within ${options.timeoutMs} ms and was killed.`, {
            command,
            stderr,
          }),
        );
      } else {
        resolve({ exitCode: processExitCode(code, signal), stdout, stderr });
      }
    });
  });
}
