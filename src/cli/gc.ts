import { sweepStaleRunFolders } from '../launch/run/run-folder.js';
import { sweepStaleEntryFiles } from '../ultralytics/entry-file.js';

/** `ddprun gc`: removes temp entry files and run folders whose launcher is dead (ending the run's survivors). */
export async function runGc(io: { stdout: NodeJS.WritableStream }): Promise<number> {
  const removed = await sweepStaleEntryFiles();
  if (removed.length === 0) io.stdout.write('ddprun gc: no stale temp entry files.\n');
  else
    io.stdout.write(
      `ddprun gc: removed ${removed.length} stale temp entry file(s):\n${removed.map((file) => `  ${file}\n`).join('')}`,
    );
  for (const run of await sweepStaleRunFolders())
    io.stdout.write(
      `ddprun gc: removed the run folder ${run.dir} of a dead launcher (pid ${run.launcherPid}); ended ${run.ended} of its processes\n`,
    );
  return 0;
}
