import { sweepStaleRunFolders } from '../launch/run/run-folder.js';
import { pruneRuns } from '../store/gc.js';
import { EXIT_OK } from '../exit-codes.js';
import { sweepStaleEntryFiles } from '../ultralytics/entry-file.js';

/**
 * `ddprun gc`: removes temp entry files and run folders whose launcher is dead (ending the run's survivors), and
 * prunes finished runs from the run store. `--dry-run` only lists the runs it would prune.
 */
export async function runGc(
  command: { dryRun: boolean; maxAgeDays: number; keep: number },
  io: { stdout: NodeJS.WritableStream },
): Promise<number> {
  if (!command.dryRun) {
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
  }
  const pruned = await pruneRuns({ maxAgeDays: command.maxAgeDays, keep: command.keep, dryRun: command.dryRun });
  const verb = command.dryRun ? 'would remove' : 'removed';
  const why = (reason: 'age' | 'count') =>
    reason === 'age' ? `ended more than ${command.maxAgeDays} days ago` : `beyond the newest ${command.keep}`;
  if (pruned.length === 0) io.stdout.write(`ddprun gc: no runs to prune.\n`);
  else
    io.stdout.write(
      `ddprun gc: ${verb} ${pruned.length} run(s):\n${pruned.map((run) => `  ${run.id}  ${run.status}, ${why(run.reason)}\n`).join('')}`,
    );
  return EXIT_OK;
}
