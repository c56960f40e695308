import { RunNotRunningError, stopRun } from '../../store/stop.js';
import { colorsFor } from '../colors.js';
import type { Io } from '../io.js';
import { statusText } from './describe.js';
import { EXIT_OK } from '../../exit-codes.js';

/** `ddprun stop <id> [--kill] [--timeout S]`: SIGTERM to the run's launcher, then wait for its end. */
export async function runStop(
  command: { id: string; kill: boolean; timeoutMs: number | undefined },
  io: Io,
): Promise<number> {
  let run;
  try {
    run = await stopRun(command.id, { kill: command.kill, timeoutMs: command.timeoutMs });
  } catch (error) {
    // A run that has already ended (or whose launcher is gone) is where `stop` would take it: like `systemctl stop`
    // of a stopped unit, that is success, said plainly. Another host's run is still an error.
    if (!(error instanceof RunNotRunningError) || error.status === 'running') throw error;
    io.stderr.write(`ddprun: ${error.message}\n`);
    return EXIT_OK;
  }
  io.stdout.write(`${run.id}\n`);
  io.stderr.write(`ddprun: run ${run.id} ${statusText(run, colorsFor(io.stderr, io.env))}\n`);
  return EXIT_OK;
}
