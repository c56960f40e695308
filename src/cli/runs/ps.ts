import { listRuns, readRunEvents, type SkippedRun } from '../../store/read.js';
import type { RunInfo } from '../../store/types.js';
import { colorsFor } from '../colors.js';
import { formatDuration, table } from '../format.js';
import type { Io } from '../io.js';
import { forStream } from '../terminal-safe.js';
import { trainingProgressOf } from '../training-status.js';
import { commandLine, statusWord } from './describe.js';
import { EXIT_OK } from '../../exit-codes.js';

/**
 * A live run's overall progress from its stored events: a trainer run's epochs (`epoch 3/100 · mAP50-95 0.412 · …`),
 * any run's epoch from its bar (`epoch 11/300`) or the bar's steps (`step 450/1000 45%`); '' otherwise.
 */
function trainingOf(run: RunInfo): string {
  if (run.status !== 'running') return '';
  return trainingProgressOf(readRunEvents(run.id, { only: ['epoch', 'progress'] }));
}

/** The command, and for a resumed run the run it continues. */
function commandText(run: RunInfo): string {
  return run.resumedFrom ? `${commandLine(run)} (resumes ${run.resumedFrom.id})` : commandLine(run);
}

/** What `ps --json` prints per run. */
export function psJson(run: RunInfo, training = trainingOf(run)): Record<string, unknown> {
  return {
    id: run.id,
    name: run.name ?? null,
    status: run.status,
    ranks: run.nprocPerNode,
    worldSize: run.worldSize,
    attempt: run.attempt,
    maxRestarts: run.maxRestarts,
    elapsedMs: run.elapsedMs,
    exitCode: run.exitCode ?? null,
    command: commandLine(run),
    argv: run.argv,
    cwd: run.cwd,
    host: run.host,
    pid: run.launcher.pid,
    startedAt: run.startedAt,
    endedAt: run.endedAt ?? null,
    training: training || null,
    resumedFrom: run.resumedFrom?.id ?? null,
  };
}

/** `ddprun ps [--all] [--json]`: running runs (with --all every run), newest first. */
export function runPs(command: { all: boolean; json: boolean }, io: Io): number {
  const skipped: SkippedRun[] = [];
  const runs = listRuns({ all: command.all, onSkip: (run) => skipped.push(run) });
  // A refused record never hides the others: each is named on stderr, stdout stays the listing (or JSON).
  for (const run of skipped)
    io.stderr.write(forStream(io.stderr, `ddprun: skipped the run folder ${run.dir}: ${run.problem}\n`));
  if (command.json) {
    io.stdout.write(runs.map((run) => `${JSON.stringify(psJson(run))}\n`).join(''));
    return EXIT_OK;
  }
  if (runs.length === 0) {
    // No header over nothing: the sentence alone.
    io.stderr.write(
      command.all ? 'No run is recorded.\n' : 'No run is running. `ddprun ps --all` lists finished runs too.\n',
    );
    return EXIT_OK;
  }
  const c = colorsFor(io.stdout, io.env);
  const training = runs.map(trainingOf);
  // The PROGRESS column only when a live run has an epoch or a bar to show.
  const withTraining = training.some((t) => t !== '');
  // The NAME column only when a listed run has one.
  const withName = runs.some((run) => run.name !== undefined);
  const rows = [
    [
      'ID',
      ...(withName ? ['NAME'] : []),
      'STATUS',
      'RANKS',
      'ATTEMPT',
      'ELAPSED',
      'EXIT',
      ...(withTraining ? ['PROGRESS'] : []),
      'COMMAND',
    ],
    ...runs.map((run, i) => [
      run.id,
      ...(withName ? [forStream(io.stdout, run.name ?? '-')] : []),
      statusWord(run, c),
      run.worldSize === run.nprocPerNode ? String(run.nprocPerNode) : `${run.nprocPerNode}/${run.worldSize}`,
      `${run.attempt + 1}/${run.maxRestarts + 1}`,
      formatDuration(run.elapsedMs),
      run.exitCode === undefined ? '-' : String(run.exitCode),
      ...(withTraining ? [training[i] || '-'] : []),
      forStream(io.stdout, commandText(run)),
    ]),
  ];
  io.stdout.write(`${table(rows)}\n`);
  return EXIT_OK;
}
