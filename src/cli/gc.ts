import { sweepStaleEntryFiles } from '../ultralytics/entry-file.js';

/** `ddprun gc`: removes temp entry files whose launcher is dead and lists them. */
export async function runGc(io: { stdout: NodeJS.WritableStream }): Promise<number> {
  const removed = await sweepStaleEntryFiles();
  if (removed.length === 0) io.stdout.write('ddprun gc: no stale temp entry files.\n');
  else
    io.stdout.write(
      `ddprun gc: removed ${removed.length} stale temp entry file(s):\n${removed.map((file) => `  ${file}\n`).join('')}`,
    );
  return 0;
}
