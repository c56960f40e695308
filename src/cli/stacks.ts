import { hostname } from 'node:os';
import { UsageError } from '../errors.js';
import { formatStacks } from '../insight/stacks.js';
import { STACKS_SIGNAL } from '../launch/run/launch.js';
import type { RankStacks } from '../model/types.js';
import { stateDir } from '../store/paths.js';
import { getRun, runEventsEnd, scanRunEvents } from '../store/read.js';
import { assertTrustedRun, launcherProblem } from '../store/trust.js';
import type { RunInfo, StoreOptions, StoredEvent } from '../store/types.js';
import { readProcFile, statFields } from '../os/proc.js';
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
  io: {
    stdout: NodeJS.WritableStream & { isTTY?: boolean };
    stderr?: NodeJS.WritableStream;
    env: NodeJS.ProcessEnv;
  },
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
  if (insight?.stackDumps !== true) return kernelStates(run, store, io);
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

const STATES: Record<string, string> = {
  R: 'running',
  S: 'sleeping',
  D: 'in uninterruptible I/O',
  T: 'stopped',
  t: 'stopped by a tracer',
  Z: 'a zombie',
};

/**
 * A run started without stack dumps (#24 item 10): no Python stacks can be taken without having put the bootstrap in
 * the ranks at their start (or ptrace, which would run code inside a possibly hung process), so each live rank's
 * state is read from /proc instead, what the kernel says it waits in (`wchan`) and its CPU time, and the way to
 * Python stacks next time is named. Reads only; signals nothing.
 */
function kernelStates(
  run: RunInfo,
  store: StoreOptions,
  io: { stdout: NodeJS.WritableStream & { isTTY?: boolean }; stderr?: NodeJS.WritableStream },
): number {
  const started = new Map<number, { rank: number; pid: number }>();
  const attempt = run.attempt;
  scanRunEvents(
    run.id,
    (e) => {
      if (e.attempt === attempt && typeof e.rank === 'number' && typeof e.pid === 'number')
        started.set(e.rank, { rank: e.rank, pid: e.pid });
    },
    { ...store, only: ['started'] },
  );
  const lines: string[] = [];
  for (const { rank, pid } of [...started.values()].sort((a, b) => a.rank - b.rank)) {
    const stat = readProcFile(pid, 'stat');
    const fields = stat === undefined ? [] : statFields(stat);
    // Only a child of the run's launcher is its rank (a pid alone may have been reused).
    if (Number(fields[1]) !== run.launcher.pid) continue;
    const state = fields[0] ?? '?';
    const wchan = readProcFile(pid, 'wchan')?.trim();
    const ticks = Number(fields[11]) + Number(fields[12]);
    const cpu = Number.isFinite(ticks) ? `, CPU time ${(ticks / 100).toFixed(1)} s` : '';
    const waits = state === 'S' || state === 'D' ? (wchan && wchan !== '0' ? ` in the kernel's ${wchan}` : '') : '';
    lines.push(`  rank ${rank} (pid ${pid}): ${STATES[state] ?? state}${waits}${cpu}`);
  }
  const text = lines.length > 0 ? lines.join('\n') : '  no live rank';
  io.stdout.write(forStream(io.stdout, `ddprun stacks ${run.id}: what the kernel says of each rank\n${text}\n`));
  (io.stderr ?? io.stdout).write(
    `ddprun stacks: the run ${run.id} was started without stack dumps, so its Python stacks cannot be taken; start a run with --stack-dumps (or --hang-timeout) to have them (see \`ddprun help stacks\`), or use \`py-spy dump --pid <pid>\` where py-spy is installed.\n`,
  );
  return EXIT_OK;
}
