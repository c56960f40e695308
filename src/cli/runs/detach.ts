import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { FileSystemError } from '../../errors.js';
import { launchResolved } from '../../launch/run/launch.js';
import { resolveOptions } from '../../launch/resolve/options.js';
import type { LaunchOptions } from '../../model/types.js';
import { eventJson } from '../../model/event-json.js';
import { NEW_FILE_FLAGS } from '../../store/appender.js';
import { FILE_MODE, runDir, runsDir, stateDir } from '../../store/paths.js';
import { prepareStore } from '../../store/trust.js';
import { colorsFor } from '../colors.js';
import { EXIT_ERROR, EXIT_OK, exitCodeForResult } from '../../exit-codes.js';
import type { OutputFlags } from '../flag-specs.js';
import type { Io } from '../io.js';
import { NOTIFY_ENV, notifyStarter, type Notice } from './detach-notify.js';

// `ddprun --detach …`: the same command runs again in its own session (the detached launcher), and tells this
// process through an extra pipe (fd 3) once its ranks are spawned, or why it could not start.

/** The detached launcher: runs the launch with no console, says when its ranks are up, records everything. */
export async function runDetachedLauncher(options: LaunchOptions, io: Io, argv: readonly string[]): Promise<number> {
  // An error thrown from here reaches the CLI's error path, which tells the starting command (exit 2 or 1).
  const resolved = await resolveOptions(options);
  const handle = launchResolved({ ...resolved, console: false }, undefined, { argv });
  const expected = resolved.backend === 'torchrun' ? 1 : resolved.nprocPerNode;
  let started = 0;
  handle.on('started', (e) => {
    if (e.attempt !== 0 || ++started < expected) return;
    notifyStarter({ started: true, id: handle.runId ?? null, pid: process.pid });
  });
  const result = await handle.result;
  // As `runLaunch`: under another torchelastic launcher, the root cause goes to its TORCHELASTIC_ERROR_FILE.
  if (result.exitCode !== 0 && result.rootCause && io.env.TORCHELASTIC_ERROR_FILE) {
    const { writeAgentErrorFile } = await import('../torchrun-compat.js');
    writeAgentErrorFile(io.env.TORCHELASTIC_ERROR_FILE, result.rootCause, io.stderr);
  }
  if (started > 0) notifyStarter({ started: true, id: handle.runId ?? null, pid: process.pid });
  else
    notifyStarter({
      started: false,
      message: 'the launch ended before any rank started',
      exitCode: exitCodeForResult(result),
    });
  return exitCodeForResult(result);
}

/** Reads the launcher's notice: the first line on its pipe, or undefined when it exits without one. */
function readNotice(child: ReturnType<typeof spawn>): Promise<Notice | { exited: number | null }> {
  return new Promise((resolve) => {
    const pipe = child.stdio[3] as NodeJS.ReadableStream;
    let text = '';
    pipe.setEncoding('utf8');
    pipe.on('data', (chunk: string) => {
      text += chunk;
      const nl = text.indexOf('\n');
      if (nl !== -1) resolve(JSON.parse(text.slice(0, nl)) as Notice);
    });
    pipe.on('error', () => {});
    child.once('exit', (code) => setTimeout(() => resolve({ exited: code }), 100));
  });
}

/** A file for the detached launcher's own messages, in the store; undefined when the store cannot be written. */
function launcherLog(state: string): { fd: number; file: string } {
  try {
    const runs = prepareStore(state);
    const file = path.join(runs, `.launcher-${process.pid}-${randomBytes(4).toString('hex')}.log`);
    return { fd: openSync(file, NEW_FILE_FLAGS, FILE_MODE), file };
  } catch (error) {
    throw new FileSystemError(
      `Cannot detach: the run store ${state} cannot be written (${(error as Error).message}), and a detached run is only reachable through its record. Set DDPRUN_STATE_DIR to a writable folder.`,
      { path: runsDir(state), action: 'open the detached launcher log', cause: error },
    );
  }
}

/**
 * `ddprun --detach …`: checks everything first (bad input exits 2 here, before anything starts), then starts the
 * same command as a detached launcher in its own session and returns once its ranks run: the run id on stdout, a hint
 * on stderr. A launch that cannot start exits with its code (2 usage, 1 start-up), as in the foreground.
 */
export async function runDetach(
  options: LaunchOptions,
  output: OutputFlags,
  io: Io,
  argv: readonly string[],
): Promise<number> {
  const resolved = await resolveOptions(options);
  const c = colorsFor(io.stderr, io.env);
  for (const warning of resolved.warnings) io.stderr.write(`ddprun: ${c.yellow('warning:')} ${warning}\n`);
  const state = stateDir(io.env);
  const log = launcherLog(state);
  const main = fileURLToPath(new URL('../main.js', import.meta.url));
  const child = spawn(process.execPath, [main, ...argv], {
    cwd: process.cwd(),
    env: { ...io.env, [NOTIFY_ENV]: '3' },
    detached: true,
    stdio: ['ignore', log.fd, log.fd, 'pipe'],
  });
  closeSync(log.fd);
  const notice = await readNotice(child);
  (child.stdio[3] as NodeJS.ReadableStream & { destroy(): void }).destroy();
  child.unref();
  if ('exited' in notice || !notice.started) {
    let message: string;
    let exitCode: number;
    if ('exited' in notice) {
      const said = readFileSync(log.file, 'utf8').trim();
      message = `the detached launcher exited (code ${notice.exited}) before its ranks started${said ? `:\n${said}` : ''}`;
      exitCode = EXIT_ERROR;
    } else ({ message, exitCode } = notice);
    rmSync(log.file, { force: true });
    io.stderr.write(`${c.red('error:')} ${message}\n`);
    return exitCode;
  }
  if (notice.id) {
    try {
      renameSync(log.file, path.join(runDir(state, notice.id), 'launcher.log'));
    } catch {
      // The record is gone or unwritable: the launcher's messages stay where they are.
    }
    if (output.json) io.stdout.write(eventJson('detached', { id: notice.id, pid: notice.pid }, Date.now()));
    else io.stdout.write(`${notice.id}\n`);
    io.stderr.write(`ddprun: running in the background (launcher pid ${notice.pid}): ddprun logs -f ${notice.id}\n`);
  } else {
    if (output.json) io.stdout.write(eventJson('detached', { id: null, pid: notice.pid }, Date.now()));
    io.stderr.write(
      `ddprun: ${c.yellow('warning:')} the run started in the background (launcher pid ${notice.pid}) but could not be recorded: see ${log.file}\n`,
    );
  }
  return EXIT_OK;
}
