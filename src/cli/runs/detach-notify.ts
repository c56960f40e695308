import { closeSync, writeSync } from 'node:fs';

// The pipe from a detached launcher back to the `ddprun --detach` that started it: one message, then closed.
// Kept apart from detach.ts so that the CLI's error path can use it without loading a launch.

/** Set in the detached launcher's environment: the fd of the pipe back to the command that started it. */
export const NOTIFY_ENV = 'DDPRUN_DETACHED_NOTIFY_FD';

export type Notice =
  { started: true; id: string | null; pid: number } | { started: false; message: string; exitCode: number };

let fd: number | undefined;
let sent = false;

/** Takes the pipe's fd out of the environment (the ranks must not inherit it); true in a detached launcher. */
export function takeNotifyFd(env: NodeJS.ProcessEnv): boolean {
  const value = env[NOTIFY_ENV];
  if (value === undefined) return fd !== undefined;
  fd = Number(value);
  delete env[NOTIFY_ENV];
  delete process.env[NOTIFY_ENV];
  return true;
}

/** Whether this process is a detached launcher. */
export function isDetachedLauncher(): boolean {
  return fd !== undefined;
}

/** Sends the one message (later ones are dropped) and closes the pipe; a no-op outside a detached launcher. */
export function notifyStarter(notice: Notice): void {
  if (fd === undefined || sent) return;
  sent = true;
  try {
    writeSync(fd, `${JSON.stringify(notice)}\n`);
    closeSync(fd);
  } catch {
    // The starting command is gone (killed): nobody to tell.
  }
}
