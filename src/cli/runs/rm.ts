import { UsageError } from '../../errors.js';
import { listRuns } from '../../store/read.js';
import { removeRuns } from '../../store/remove.js';
import { EXIT_OK } from '../../exit-codes.js';
import type { Io } from '../io.js';

/** `ddprun rm <id|name|last>…`: removes finished runs from the store; prints each removed id. */
export function runRm(ids: readonly string[], io: Io): number {
  const removed = removeRuns(ids);
  for (const run of removed) {
    io.stdout.write(`${run.id}\n`);
    io.stderr.write(`ddprun: removed run ${run.id}${run.name ? ` (${run.name})` : ''}: ${run.dir}\n`);
  }
  return EXIT_OK;
}

/** Refuses a `--name` that a running run already carries: `ddprun stop <name>` must name one live run. */
export function refuseLiveName(name: string): void {
  const live = listRuns().find((run) => run.name === name);
  if (live)
    throw new UsageError(
      `The run ${live.id} is running under the name ${JSON.stringify(name)}: give this run another --name, or stop that one first (\`ddprun stop ${name}\`).`,
      '--name',
    );
}
