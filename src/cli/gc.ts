import { pruneRuns } from '../store/gc.js';
import { sweepStaleEntryFiles } from '../ultralytics/entry-file.js';

/** `ddprun gc`: removes temp entry files whose launcher is dead, and prunes finished runs from the run store. */
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
  return 0;
}
