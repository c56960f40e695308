import path from 'node:path';
import { formatRootCause } from '../../insight/failure.js';
import { getRun, readRunEvents } from '../../store/read.js';
import { LOGS_DIR } from '../../store/paths.js';
import type { RunInfo } from '../../store/types.js';
import { colorsFor } from '../colors.js';
import { formatDuration } from '../format.js';
import { formatSummary } from '../render.js';
import { trainingFromEvents } from '../../progress/outcome.js';
import type { Io } from '../io.js';
import { forStream } from '../terminal-safe.js';
import { commandLine, resultFromEvents, statusText } from './describe.js';
import { formatResources, liveStateOf } from './live-state.js';
import { formatMetrics, metricsOf } from './metrics-text.js';
import { EXIT_OK } from '../../exit-codes.js';

/** What the summary of a run without a result is made of (its ranks so far, its training and its metrics). */
const SHOWN_EVENTS = ['started', 'exited', 'restarting', 'training', 'epoch', 'metric'];

function when(iso: string): string {
  return iso.replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

/** The header `show` prints above the summary: what ran, where, when, and where its logs are. */
function header(run: RunInfo, io: Io): string {
  const c = colorsFor(io.stdout, io.env);
  const rows: [string, string][] = [
    ...(run.name === undefined ? [] : [['name', run.name] as [string, string]]),
    ['command', commandLine(run)],
    ['cwd', run.cwd],
    ['host', `${run.host} (launcher pid ${run.launcher.pid}, user ${run.user}, ddprun ${run.version})`],
    ['started', when(run.startedAt)],
  ];
  if (run.endedAt) rows.push(['ended', `${when(run.endedAt)} (after ${formatDuration(run.elapsedMs)})`]);
  else rows.push(['elapsed', formatDuration(run.elapsedMs)]);
  rows.push(['logs', `${path.join(run.dir, LOGS_DIR)} (ddprun logs ${run.id})`]);
  if (run.logDir) rows.push(['log dir', run.logDir]);
  if (run.resumedFrom) rows.push(['resumes', `run ${run.resumedFrom.id} from ${run.resumedFrom.checkpoint}`]);
  // A live run: its latest resources and overall progress, as `ps` shows them (#24 item 8).
  const live = liveStateOf(run);
  if (live.resources) {
    const ago = formatDuration(Math.max(0, Date.now() - Date.parse(live.resources.t)));
    rows.push(['resources', `${formatResources(live.resources)} (sampled ${ago} ago)`]);
  }
  if (live.progress) rows.push(['progress', live.progress]);
  return `${c.bold(`run ${run.id}`)}  ${statusText(run, c)}\n${rows.map(([k, v]) => `  ${k.padEnd(8)} ${v}`).join('\n')}\n`;
}

/** `ddprun show <id> [--json]`: the summary the console printed at the end (or the run so far). */
export function runShow(command: { id: string; json: boolean }, io: Io): number {
  const run = getRun(command.id);
  // Only the events the summary is made of are parsed (a long run's events.jsonl is gigabytes of samples).
  const events = readRunEvents(run.id, { only: run.result ? ['metric'] : SHOWN_EVENTS });
  const metrics = metricsOf(events);
  const result = run.result ?? resultFromEvents(run, events);
  // A live or lost run has no result yet: its training so far comes from its `training` and `epoch` events.
  if (!run.result) result.training ??= trainingFromEvents(events);
  if (command.json) {
    io.stdout.write(`${JSON.stringify({ ...run, result, metrics }, null, 2)}\n`);
    return EXIT_OK;
  }
  const c = colorsFor(io.stdout, io.env);
  let text = header(run, io);
  if (run.error) text += `\n${c.red('error:')} ${run.error.message}\n`;
  else {
    const verdict = run.result ? undefined : run.status === 'lost' ? c.magenta('lost') : c.green('running');
    text += formatSummary(result, c, verdict);
  }
  if (metrics.length) text += `\n${formatMetrics(metrics)}`;
  if (run.rootCause && !run.signal) text += `\n${formatRootCause(run.rootCause)}\n`;
  io.stdout.write(forStream(io.stdout, text));
  return EXIT_OK;
}
