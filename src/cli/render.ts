import type { createLogUpdate } from 'log-update';
import type {
  LaunchEvents,
  LaunchResult,
  RankResources,
  RankResult,
  ResolvedOptions,
  ResumeRecord,
} from '../model/types.js';
import { eventJson } from '../model/event-json.js';
import type { EventName, EventPayload, EventSink } from '../model/event-stream.js';
import { formatBytes } from '../insight/format-bytes.js';
import { formatHang } from '../insight/hang.js';
import { formatTeardownStacks } from '../insight/monitor.js';
import { formatStacks } from '../insight/stacks.js';
import { colorsFor, type Colors } from './colors.js';
import { formatDuration, table, visibleLength } from './format.js';
import { formatRootCause } from '../insight/failure.js';
import { rankPrefix, shownOnConsole } from '../launch/run/rank-output.js';
import { TerminalLines } from '../launch/run/console-output.js';
import { stopNotice } from '../launch/run/stop-notice.js';
import { TrainingStatus, formatTraining } from './training-status.js';

export { shownOnConsole };

interface Stream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface RenderOptions {
  json: boolean;
  quiet: boolean;
  stdout: Stream & NodeJS.WritableStream;
  stderr: Stream & NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
  /**
   * Whether the renderer shows the ranks' lines; false when the launcher writes them itself (plain output).
   * @default true
   */
  lines?: boolean;
  /** Milliseconds between status-line renders (about 10 Hz). */
  statusIntervalMs?: number;
  /**
   * log-update's factory, loaded by `loadStatusLine` only when a status line will be drawn (it costs ~50 ms to import).
   */
  createStatus?: typeof createLogUpdate;
}

/** Whether a status line will be drawn, and then log-update's factory. */
export async function loadStatusLine(
  options: Pick<RenderOptions, 'quiet' | 'stderr'>,
): Promise<typeof createLogUpdate | undefined> {
  if (options.quiet || !options.stderr.isTTY) return undefined;
  return (await import('log-update')).createLogUpdate;
}

const RANK_COLORS = ['cyan', 'magenta', 'yellow', 'green', 'blue'] as const;

/** `CPU 184% · RSS 3.1 GB · GPU 22.4 GB`: every rank's latest sample added up; empty before the first. */
export function resourceTotals(ranks: readonly RankResources[]): string {
  if (ranks.length === 0) return '';
  let cpu = 0;
  let rss = 0;
  let gpu: number | undefined;
  for (const r of ranks) {
    cpu += r.cpuPercent;
    rss += r.rssBytes;
    if (r.gpuMemoryBytes !== undefined) gpu = (gpu ?? 0) + r.gpuMemoryBytes;
  }
  return `CPU ${Math.round(cpu)}% · RSS ${formatBytes(rss)}${gpu === undefined ? '' : ` · GPU ${formatBytes(gpu)}`}`;
}

/** The summary's peak columns (peak RSS, CPU seconds, peak GPU memory), when the ranks were sampled. */
function addPeakColumns(rows: string[][], ranks: readonly RankResult[]): void {
  if (!ranks.some((r) => r.peakRssBytes !== undefined)) return;
  const gpu = ranks.some((r) => r.peakGpuMemoryBytes !== undefined);
  rows[0]!.push('peak RSS', 'CPU time', ...(gpu ? ['peak GPU'] : []));
  ranks.forEach((r, i) => {
    const row = rows[i + 1]!;
    row.push(
      r.peakRssBytes === undefined ? '-' : formatBytes(r.peakRssBytes),
      r.cpuSeconds === undefined ? '-' : `${r.cpuSeconds.toFixed(1)}s`,
    );
    if (gpu) row.push(r.peakGpuMemoryBytes === undefined ? '-' : formatBytes(r.peakGpuMemoryBytes));
  });
}

/** A rank's exit as a person reads it: `0`, `3`, `SIGKILL`, `running`. */
function exitText(exitCode: number | null, signal: NodeJS.Signals | null): string {
  if (signal) return signal;
  return exitCode === null ? '-' : String(exitCode);
}

type Payload<K extends EventName> = LaunchEvents[K][0];

/**
 * Shows a launch, as a sink of its event stream: the ranks' lines with a `[rankN]:` prefix, one status line kept at
 * the bottom of a terminal, then a summary and the root cause; or, with `json`, each event as one JSON line on stdout
 * (the run store's serialiser: the same line as its events.jsonl record).
 */
export class LaunchRenderer implements EventSink {
  private readonly startedAt = Date.now();
  private readonly running = new Set<number>();
  private exited = 0;
  private restarts = 0;
  private resources: readonly RankResources[] = [];
  private readonly training = new TrainingStatus();
  private readonly status: ReturnType<typeof createLogUpdate> | undefined;
  private statusShown = false;
  private renderTimer: NodeJS.Timeout | undefined;
  private tickTimer: NodeJS.Timeout | undefined;
  private readonly out: Colors;
  private readonly err: Colors;
  /** Summary, restarts and the root cause: always stderr, so stdout stays the ranks' (or the JSON events). */
  private readonly human: Stream;
  /** `\r` progress states drawn in place on a terminal. */
  private readonly terminal = new TerminalLines();

  constructor(
    private readonly resolved: ResolvedOptions,
    private readonly options: RenderOptions,
  ) {
    this.out = colorsFor(options.stdout, options.env);
    this.err = colorsFor(options.stderr, options.env);
    this.human = options.stderr;
    if (options.createStatus) {
      this.status = options.createStatus(options.stderr, { showCursor: true });
      this.tickTimer = setInterval(() => this.scheduleStatus(), 1000);
      this.tickTimer.unref();
    }
  }

  private get lines(): boolean {
    return this.options.lines ?? true;
  }

  /** Every event but the raw `output` (and `line` when the launcher writes the lines itself). */
  wants(name: EventName): boolean {
    return name !== 'output' && (name !== 'line' || this.lines);
  }

  write(name: EventName, payload: EventPayload, t: number): void {
    if (name === 'line') return this.onLine(payload as Payload<'line'>, t);
    if (this.options.json) this.options.stdout.write(eventJson(name, payload, t));
    this.show(name, payload);
  }

  /** What the person sees of an event besides its JSON line. */
  private show(name: EventName, payload: EventPayload): void {
    if (name === 'started') this.onStarted(payload as Payload<'started'>);
    else if (name === 'exited') this.onExited(payload as Payload<'exited'>);
    else if (name === 'restarting') this.onRestarting(payload as Payload<'restarting'>);
    else if (name === 'stopping') this.onStopping(payload as Payload<'stopping'>);
    else if (name === 'resources') this.resources = (payload as Payload<'resources'>).ranks;
    else if (name === 'warning') this.onWarning(payload as Payload<'warning'>);
    else if (name === 'hang' || name === 'stacks') this.onReport(this.reportText(name, payload));
    else if (name === 'epoch' || name === 'progress') {
      if (name === 'epoch') this.training.onEpoch(payload as Payload<'epoch'>);
      else this.training.onProgress(payload as Payload<'progress'>);
      this.scheduleStatus();
    }
  }

  /** A hang or stack report as text; undefined when the launcher prints it itself (plain output). */
  private reportText(name: 'hang' | 'stacks', payload: EventPayload): string | undefined {
    if (!this.lines) return undefined;
    if (name === 'hang') {
      const e = payload as Payload<'hang'>;
      return formatHang(e.idleMs, e.ranks, e.action);
    }
    const e = payload as Payload<'stacks'>;
    return e.reason === 'teardown' ? formatTeardownStacks(e.ranks) : formatStacks(e.ranks);
  }

  /** A warning on stderr, unless the launcher prints it itself (plain output). */
  private onWarning(e: Payload<'warning'>): void {
    if (!this.lines) return;
    this.clearStatus();
    this.terminal.interrupt();
    this.human.write(`ddprun: ${this.err.yellow('warning:')} ${e.message}\n`);
    this.scheduleStatus();
  }

  /** A hang or stack report: the text on stderr, unless the launcher prints it itself. */
  private onReport(text: string | undefined): void {
    if (text === undefined) return;
    this.clearStatus();
    this.terminal.interrupt();
    this.human.write(`${text}\n`);
    this.scheduleStatus();
  }

  private onStarted(e: LaunchEvents['started'][0]): void {
    this.running.add(e.rank);
    this.scheduleStatus();
  }

  private onLine(e: LaunchEvents['line'][0], t: number): void {
    if (!shownOnConsole(this.resolved, e.localRank, e.stream)) return;
    if (this.options.json) {
      this.options.stdout.write(eventJson('line', e, t));
      return;
    }
    const stream = e.stream === 'stdout' ? this.options.stdout : this.options.stderr;
    const colors = e.stream === 'stdout' ? this.out : this.err;
    this.clearStatus();
    if (e.localRank < 0) {
      // A torchrun agent's own line.
      this.terminal.interrupt();
      stream.write(`${e.text}\n`);
    } else {
      const paint = colors[RANK_COLORS[e.localRank % RANK_COLORS.length] as (typeof RANK_COLORS)[number]];
      const prefix = rankPrefix(e.rank, e.localRank, this.resolved.linePrefixTemplate, this.resolved.role);
      const progress = Boolean(e.progress && stream.isTTY);
      const key = `${e.stream}:${e.rank}:${e.localRank}`;
      const width = progress ? visibleLength(prefix + e.text) : 0;
      stream.write(this.terminal.line(key, `${paint(prefix)}${e.text}`, progress, width, stream.columns));
    }
    this.scheduleStatus();
  }

  private onExited(e: LaunchEvents['exited'][0]): void {
    this.running.delete(e.rank);
    this.exited += 1;
    this.scheduleStatus();
  }

  /** The stop notice on stderr, unless the launcher prints it itself (plain output) or the output is JSON. */
  private onStopping(e: LaunchEvents['stopping'][0]): void {
    if (!this.lines || this.options.json) return;
    this.clearStatus();
    this.terminal.interrupt();
    this.human.write(`${this.err.yellow('ddprun:')} ${stopNotice(e, this.resolved.gracePeriodMs)}\n`);
    this.scheduleStatus();
  }

  private onRestarting(e: LaunchEvents['restarting'][0]): void {
    this.restarts += 1;
    this.exited = 0;
    this.running.clear();
    this.clearStatus();
    this.terminal.interrupt();
    this.human.write(`${this.err.yellow('ddprun:')} restarting (attempt ${e.attempt}): ${e.reason}\n`);
    if (e.resumeFrom)
      this.human.write(
        `${this.err.yellow('ddprun:')} attempt ${e.attempt} resumes from ${e.resumeFrom}${e.epoch === undefined ? '' : ` (epoch ${e.epoch} done)`}\n`,
      );
    this.scheduleStatus();
  }

  statusText(): string {
    const c = this.err;
    const elapsed = formatDuration(Date.now() - this.startedAt);
    const restarts = `restarts ${this.restarts}/${this.resolved.maxRestarts}`;
    const totals = resourceTotals(this.resources);
    const training = this.training.text();
    return `${c.bold('ddprun')} ${c.green(`${this.running.size} running`)} · ${this.exited} exited · ${restarts} · ${elapsed}${totals ? ` · ${totals}` : ''}${training ? ` · ${training}` : ''}`;
  }

  private clearStatus(): void {
    if (this.status && this.statusShown) {
      this.status.clear();
      this.statusShown = false;
    }
  }

  private scheduleStatus(): void {
    if (!this.status || this.renderTimer) return;
    this.renderTimer = setTimeout(() => {
      this.renderTimer = undefined;
      this.status?.(this.statusText());
      this.statusShown = true;
    }, this.options.statusIntervalMs ?? 100);
    this.renderTimer.unref();
  }

  /** Stops the live status line and prints the summary and the root cause (the `done` event was written as it came). */
  finish(result: LaunchResult, { rootCause = true }: { rootCause?: boolean } = {}): void {
    if (this.renderTimer) clearTimeout(this.renderTimer);
    if (this.tickTimer) clearInterval(this.tickTimer);
    this.renderTimer = undefined;
    this.clearStatus();
    if (!this.options.quiet) this.human.write(formatSummary(result, this.err));
    if (rootCause && result.rootCause && !result.signal) this.human.write(`\n${formatRootCause(result.rootCause)}\n`);
  }
}

/** One line per attempt that resumed from a checkpoint: `attempt 1 resumed from <last.pt> after epoch 1`. */
export function formatResumes(resumes: readonly ResumeRecord[]): string {
  return resumes
    .map(
      (r) =>
        `  attempt ${r.attempt} resumed from ${r.resumeFrom}${r.epoch === undefined ? '' : ` after epoch ${r.epoch}`}\n`,
    )
    .join('');
}

/**
 * The end-of-run summary: the verdict, the duration, the attempts and a per-rank table. `verdict` replaces the
 * one read from the result (`ddprun show` of a live run says `running`).
 */
export function formatSummary(result: LaunchResult, c: Colors, verdict?: string): string {
  const rows = [
    ['rank', 'exit', 'duration'],
    ...result.ranks.map((r) => [
      r.rank < 0 ? 'torchrun' : String(r.rank),
      exitText(r.exitCode, r.signal),
      formatDuration(r.durationMs),
    ]),
  ];
  addPeakColumns(rows, result.ranks);
  // Port-race retries run the group again without counting as a restart: they are said, so the count is true.
  const retries =
    result.portRetries === 1 ? ', 1 port retry' : result.portRetries ? `, ${result.portRetries} port retries` : '';
  const attempts = `${result.attempts === 1 ? '1 attempt' : `${result.attempts} attempts`}${retries}`;
  const said =
    verdict ??
    (result.exitCode === 0
      ? c.green('succeeded')
      : result.preempted
        ? c.yellow(`preempted by ${result.signal} from ${result.preempted.sender}`)
        : result.signal
          ? c.yellow(`stopped by ${result.signal}`)
          : c.red('failed'));
  const training = result.training ? `${formatTraining(result.training)}\n` : '';
  const resumes = result.resumes ? formatResumes(result.resumes) : '';
  return `\n${c.bold('ddprun')} ${said} in ${formatDuration(result.durationMs)} (${attempts})\n${table(rows, '  ')}\n${training}${resumes}`;
}
