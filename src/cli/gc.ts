import { sweepStaleRunFolders, type SweptRunFolder } from '../launch/run/run-folder.js';
import { pruneRuns } from '../store/gc.js';
import { EXIT_OK } from '../exit-codes.js';
import { sweepStaleEntryFiles } from '../ultralytics/entry-file.js';

type Out = { stdout: NodeJS.WritableStream };

/** The Ultralytics DDP folder's entry files of dead launchers: removed, or (dry run) listed. */
async function entryFiles(dryRun: boolean, io: Out): Promise<void> {
  const files = await sweepStaleEntryFiles(undefined, { dryRun });
  if (files.length === 0) io.stdout.write('ddprun gc: no stale temp entry files.\n');
  else
    io.stdout.write(
      `ddprun gc: ${dryRun ? 'would remove' : 'removed'} ${files.length} stale temp entry file(s):\n${files.map((file) => `  ${file}\n`).join('')}`,
    );
}

function runFolderLine(run: SweptRunFolder, dryRun: boolean): string {
  if (!dryRun)
    return `ddprun gc: removed the run folder ${run.dir} of a dead launcher (pid ${run.launcherPid}); ended ${run.ended} of its processes\n`;
  const survivors = run.survivors ?? [];
  const ends = survivors.length
    ? `, ending ${survivors.length} of its processes: ${survivors.map((p) => `pid ${p.pid} (${p.command})`).join(', ')}`
    : '; none of its processes is left';
  return `ddprun gc: would remove the run folder ${run.dir} of a dead launcher (pid ${run.launcherPid})${ends}\n`;
}

/**
 * `ddprun gc`: removes temp entry files and run folders whose launcher is dead (ending the run's survivors), and
 * prunes finished runs from the run store. `--dry-run` lists all of it (and the processes it would end), doing nothing.
 */
export async function runGc(command: { dryRun: boolean; maxAgeDays: number; keep: number }, io: Out): Promise<number> {
  await entryFiles(command.dryRun, io);
  for (const run of await sweepStaleRunFolders(undefined, { dryRun: command.dryRun }))
    io.stdout.write(runFolderLine(run, command.dryRun));
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
