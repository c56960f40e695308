import { hostname } from 'node:os';
import { UsageError } from '../errors.js';
import { formatStacks } from '../insight/stacks.js';
import { STACKS_SIGNAL } from '../launch/run/launch.js';
import type { RankStacks } from '../model/types.js';
import { stateDir } from '../store/paths.js';
import { getRun, runEventsEnd, scanRunEvents } from '../store/read.js';
import { assertTrustedRun, launcherProblem } from '../store/trust.js';
import type { StoredEvent } from '../store/types.js';
import { EXIT_ERROR, EXIT_OK } from '../exit-codes.js';
import { forStream } from './terminal-safe.js';

/** How long the launcher has to answer (its ranks each have 3 s). */
const ANSWER_TIMEOUT_MS = 15_000;
const POLL_MS = 100;

/**
 * `ddprun stacks <id>`: asks a live run's launcher (SIGUSR2, after checking the pid is still that launcher) to dump
 * every rank's Python stacks, waits for the `stacks` event it records in the store, and prints it.
 */
export async function runStacks(
  query: string,
  io: { stdout: NodeJS.WritableStream & { isTTY?: boolean }; env: NodeJS.ProcessEnv },
): Promise<number> {
  const store = { stateDir: stateDir(io.env) };
  const run = getRun(query, store);
  assertTrustedRun(run, store.stateDir, 'dump the stacks of');
  if (run.status !== 'running')
    throw new UsageError(`The run ${run.id} is ${run.status}, not running: it has no live ranks to dump.`, 'id');
  if (run.host !== hostname())
    throw new UsageError(
      `The run ${run.id} runs on ${run.host}, not on this host (${hostname()}): run this there.`,
      'id',
    );
  const insight = run.options.insight as { stackDumps?: unknown } | undefined;
  if (insight?.stackDumps !== true)
    throw new UsageError(
      `The run ${run.id} was started without stack dumps; start it with --stack-dumps (or --hang-timeout) to use \`ddprun stacks\`.`,
      'id',
    );
  // Only the answer is read: what the launcher records after the request (a long run's events are gigabytes).
  let eventsAt = runEventsEnd(run.id, store);
  const problem = launcherProblem(run.launcher, run.host);
  if (problem)
    throw new UsageError(`The run ${run.id} cannot be asked for stacks: ${problem}. Nothing was signalled.`, 'id');
  process.kill(run.launcher.pid, STACKS_SIGNAL);
  const deadline = Date.now() + ANSWER_TIMEOUT_MS;
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    let answer: StoredEvent | undefined;
    eventsAt = scanRunEvents(run.id, (e) => (answer ??= e.reason === 'request' ? e : undefined), {
      ...store,
      from: eventsAt,
      only: ['stacks'],
    });
    if (answer) {
      io.stdout.write(
        forStream(io.stdout, `ddprun stacks ${run.id}:\n${formatStacks(answer.ranks as RankStacks[])}\n`),
      );
      return EXIT_OK;
    }
  }
  io.stdout.write(`ddprun stacks: the launcher of ${run.id} did not answer within ${ANSWER_TIMEOUT_MS / 1000} s.\n`);
  return EXIT_ERROR;
}
