import { closeSync, writeSync } from 'node:fs';
import { isatty } from 'node:tty';

/** Whether `fd` is a terminal that hung up (a zero-byte write fails with EIO only then; isatty() says no by then). */
function hungUp(fd: number): boolean {
  try {
    writeSync(fd, '');
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EIO';
  }
}

/**
 * After a hang-up: streams whose terminal is gone are destroyed, so nothing more is written to them (the summary
 * still reaches a stream that was redirected elsewhere).
 */
export function silenceDeadTerminals(streams: readonly NodeJS.WriteStream[]): void {
  for (const stream of streams) {
    const fd = (stream as { fd?: number }).fd;
    if (stream.isTTY && fd !== undefined && hungUp(fd)) stream.destroy();
  }
}

/**
 * Node restores the terminal's mode of the standard descriptors at exit and aborts (SIGABRT, sometimes SIGSEGV) when
 * that terminal hung up: closing those descriptors first makes it skip them, so ddprun exits with its own code (129).
 * The terminals are noted now, while isatty() can still tell.
 */
export function closeDeadTerminalsAtExit(): void {
  const terminals = [0, 1, 2].filter((fd) => isatty(fd));
  if (terminals.length === 0) return;
  process.once('exit', () => {
    // Probed before any is closed: stdin may be read-only, so one dead descriptor means the terminal is gone.
    if (!terminals.some(hungUp)) return;
    for (const fd of terminals) closeSync(fd);
  });
}
