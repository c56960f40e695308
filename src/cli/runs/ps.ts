import { formatBytes } from '../../insight/format-bytes.js';
import { listDashboards } from '../../store/dashboards.js';
import { stateDir } from '../../store/paths.js';
import { listRuns, type SkippedRun } from '../../store/read.js';
import type { RunInfo } from '../../store/types.js';
import { colorsFor } from '../colors.js';
import { formatDuration, table } from '../format.js';
import type { Io } from '../io.js';
import { forStream } from '../terminal-safe.js';
import { commandLine, statusWord } from './describe.js';
import { liveStateOf, type LiveState } from './live-state.js';
import { EXIT_OK } from '../../exit-codes.js';

/** The command, and for a resumed run the run it continues. */
function commandText(run: RunInfo): string {
  return run.resumedFrom ? `${commandLine(run)} (resumes ${run.resumedFrom.id})` : commandLine(run);
}

/** What `ps --json` prints per run. */
export function psJson(run: RunInfo, live: LiveState = liveStateOf(run)): Record<string, unknown> {
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
    training: live.progress || null,
    resources: live.resources ?? null,
    resumedFrom: run.resumedFrom?.id ?? null,
  };
}

/** The table `ps` prints: optional NAME, CPU/MEM(/GPU) and PROGRESS columns where a listed run has something. */
function psRows(runs: readonly RunInfo[], io: Io): string[][] {
  const c = colorsFor(io.stdout, io.env);
  const live = runs.map(liveStateOf);
  // The PROGRESS column only when a live run has an epoch or a bar to show; CPU and MEM when one has a sample.
  const withProgress = live.some((l) => l.progress !== '');
  const withResources = live.some((l) => l.resources !== undefined);
  const withGpu = live.some((l) => l.resources?.gpuMemoryBytes !== undefined);
  // The NAME column only when a listed run has one.
  const withName = runs.some((run) => run.name !== undefined);
  const resourceCells = ({ resources: r }: LiveState): string[] => [
    ...(withResources ? [r ? `${Math.round(r.cpuPercent)}%` : '-', r ? formatBytes(r.rssBytes) : '-'] : []),
    ...(withGpu ? [r?.gpuMemoryBytes === undefined ? '-' : formatBytes(r.gpuMemoryBytes)] : []),
  ];
  const rows = [
    [
      'ID',
      ...(withName ? ['NAME'] : []),
      'STATUS',
      'RANKS',
      'ATTEMPT',
      'ELAPSED',
      'EXIT',
      ...(withResources ? ['CPU', 'MEM'] : []),
      ...(withGpu ? ['GPU'] : []),
      ...(withProgress ? ['PROGRESS'] : []),
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
      ...resourceCells(live[i]!),
      ...(withProgress ? [forStream(io.stdout, live[i]!.progress || '-')] : []),
      forStream(io.stdout, commandText(run)),
    ]),
  ];
  return rows;
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
  // The dashboards serving now, token included (#24 item 11): on stderr, the listing stays stdout's.
  const dashboards = listDashboards(stateDir());
  for (const d of dashboards) io.stderr.write(forStream(io.stderr, `dashboard: ${d.url}\n`));
  if (runs.length === 0) {
    // No header over nothing: the sentence alone.
    io.stderr.write(
      command.all ? 'No run is recorded.\n' : 'No run is running. `ddprun ps --all` lists finished runs too.\n',
    );
    return EXIT_OK;
  }
  io.stdout.write(`${table(psRows(runs, io))}\n`);
  return EXIT_OK;
}
