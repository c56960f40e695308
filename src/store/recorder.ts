import { existsSync, mkdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { exitCodeForError } from '../exit-codes.js';
import type { Entry, LaunchEvents, LaunchResult, OutputEvent, ResolvedOptions } from '../model/types.js';
import { eventJson } from '../model/event-json.js';
import type { EventName, EventPayload, EventSink } from '../model/event-stream.js';
import { processIdentity } from '../os/process-identity.js';
import { ddprunVersion } from '../version.js';
import { Appender } from './appender.js';
import { CappedLog } from './capped-log.js';
import { writeJsonAtomic, writeJsonAtomicSync } from './json-file.js';
import { DIR_MODE, EVENTS_FILE, RUN_FILE, STOP_REQUEST_FILE, rankLogFile, runDir } from './paths.js';
import { PeriodicThinning } from './periodic-thinning.js';
import { isDiskFull, releaseRoom, reserveRoom } from './reserve.js';
import { newRunId } from './run-id.js';
import { prepareStore } from './trust.js';
import { RUN_SCHEMA, type RecordedStatus, type ResumedFrom, type RunRecord } from './types.js';

/** How long the end of a launch waits for its record to reach the disk before going on without it. */
export const FINISH_TIMEOUT_MS = 5000;

export interface RecorderInit {
  /** The id to try first (the handle's `runId`); another is drawn if a run already has it. */
  id: string;
  resolved: ResolvedOptions;
  /** The command line as typed (CLI); undefined for `launch()`. */
  argv: readonly string[] | undefined;
  stateDir: string;
  /** Prints the one warning a run's recording may give. */
  warn: (message: string) => void;
  /** A resumed run: the run it continues. */
  resumedFrom?: ResumedFrom;
}

function userName(): string {
  try {
    return os.userInfo().username;
  } catch {
    return process.env.USER ?? String(process.getuid?.() ?? 'unknown');
  }
}

/** What a library launch runs, as a command line. */
function entryArgv(entry: Entry): string[] {
  if ('script' in entry) return [entry.script, ...(entry.args ?? [])];
  if ('module' in entry) return ['-m', entry.module, ...(entry.args ?? [])];
  if ('command' in entry) return ['--no-python', entry.command, ...(entry.args ?? [])];
  return ['train', `${entry.trainer.module}.${entry.trainer.className}`];
}

/** The resolved options as JSON: no AbortSignal, sets as arrays. */
function optionsJson(resolved: ResolvedOptions): Record<string, unknown> {
  const { signal: _signal, localRanksFilter, ...rest } = resolved;
  return { ...rest, localRanksFilter: [...localRanksFilter] };
}

/** `{ slurm }` inside a Slurm job (a requeued job finds the run it continues by its id), else nothing. */
function slurmJobOf(env: NodeJS.ProcessEnv): Pick<RunRecord, 'slurm'> {
  const jobId = env.SLURM_JOB_ID;
  if (!jobId) return {};
  const count = (value: string | undefined) => (value && /^\d+$/.test(value) ? Number(value) : null);
  return { slurm: { jobId, restartCount: count(env.SLURM_RESTART_COUNT) ?? 0, nodeId: count(env.SLURM_NODEID) } };
}

/**
 * `{ kubernetes }` in a pod of a job `ddprun k8s` wrote (its manifest names the job in DDPRUN_K8S_SERVICE and passes
 * JobSet's restart attempt as DDPRUN_K8S_RESTART), else nothing.
 */
function k8sJobOf(env: NodeJS.ProcessEnv): Pick<RunRecord, 'kubernetes'> {
  const job = env.DDPRUN_K8S_SERVICE;
  if (!env.KUBERNETES_SERVICE_HOST || !job) return {};
  const count = (value: string | undefined) => (value && /^\d+$/.test(value) ? Number(value) : null);
  return {
    kubernetes: {
      job,
      restartAttempt: count(env.DDPRUN_K8S_RESTART) ?? 0,
      index: count(env.JOB_COMPLETION_INDEX ?? env.PET_NODE_RANK),
    },
  };
}

/**
 * The variables whose values decide what the ranks import and run (#24 item 4): the import path and the interpreter's
 * own, the executable and library search paths, the active environment, the devices and the threads. A resume needs
 * them as they were (a run started with `PYTHONPATH=$PWD` must find its modules again); nothing else of the
 * environment is recorded, so no token or credential of the user's shell lands in the record.
 */
export const RANK_ENV_NAMES = [
  'PYTHONPATH',
  'PYTHONHOME',
  'PYTHONUSERBASE',
  'PYTHONNOUSERSITE',
  'PYTHONSAFEPATH',
  'PATH',
  'LD_LIBRARY_PATH',
  'VIRTUAL_ENV',
  'CONDA_PREFIX',
  'CONDA_DEFAULT_ENV',
  'CUDA_VISIBLE_DEVICES',
  'HIP_VISIBLE_DEVICES',
  'ROCR_VISIBLE_DEVICES',
  'OMP_NUM_THREADS',
] as const;

/** `RANK_ENV_NAMES` as the ranks get them: the launch's explicit `env` over the launcher's own environment. */
export function rankEnvOf(
  explicit: Readonly<Record<string, string>>,
  inherited: NodeJS.ProcessEnv,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of RANK_ENV_NAMES) {
    const value = explicit[name] ?? inherited[name];
    if (value !== undefined) env[name] = value;
  }
  return env;
}

function statusOf(result: LaunchResult): RecordedStatus {
  if (result.preempted) return 'preempted';
  if (result.signal) return 'stopped';
  return result.exitCode === 0 ? 'succeeded' : 'failed';
}

/**
 * Records one launch in the run store, as a sink of its event stream: run.json at the start, at each restart and at
 * the end; every event (except `line`, and `output`) in events.jsonl; each rank's raw output (`output` events), capped,
 * under logs/. It never throws into the launch and never blocks it: a write that fails gives one warning and the
 * launch goes on unrecorded.
 */
export class RunRecorder implements EventSink {
  private readonly record: RunRecord;
  private readonly eventsFile: Appender;
  /** resources and progress events, recorded at a rate that falls as the run ages. */
  private readonly periodic: PeriodicThinning;
  /** By `attempt/rank/stream`; null: that log could not be opened. */
  private readonly logs = new Map<string, CappedLog | null>();
  private readonly createdDirs = new Set<string>();
  private metaWrites: Promise<void> = Promise.resolve();
  private warned = false;
  private finished: Promise<void> | undefined;

  private constructor(
    readonly id: string,
    readonly dir: string,
    record: RunRecord,
    private readonly init: RecorderInit,
  ) {
    this.record = record;
    this.eventsFile = new Appender(path.join(dir, EVENTS_FILE), (error, file) => this.writeFailed(error, file));
    this.periodic = new PeriodicThinning((line) => this.eventsFile.write(line));
  }

  /** Creates the run's folder and run.json; undefined (after one warning) when the store cannot be written. */
  static open(init: RecorderInit): RunRecorder | undefined {
    let dir: string | undefined;
    try {
      // Nothing is recorded where another user could read the record back as ours, or plant links in it.
      prepareStore(init.stateDir);
      let id = init.id;
      for (let tries = 0; ; tries++) {
        const candidate = runDir(init.stateDir, id);
        try {
          mkdirSync(candidate, { mode: DIR_MODE });
          dir = candidate;
          break;
        } catch (error) {
          // Another run started in the same second drew the same suffix: draw again.
          if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || tries >= 50) throw error;
          id = newRunId();
        }
      }
      const { resolved } = init;
      const me = processIdentity();
      const record: RunRecord = {
        schema: RUN_SCHEMA,
        id,
        argv: init.argv ? [...init.argv] : entryArgv(resolved.entry),
        source: init.argv ? 'cli' : 'library',
        options: optionsJson(resolved),
        cwd: resolved.cwd,
        host: os.hostname(),
        user: userName(),
        version: ddprunVersion(),
        launcher: { pid: me.pid, startTime: me.start, bootId: me.boot },
        nprocPerNode: resolved.nprocPerNode,
        worldSize: resolved.nprocPerNode * resolved.maxNodes,
        maxRestarts: resolved.maxRestarts,
        attempt: 0,
        logDir: resolved.logDir ?? null,
        maxLogBytes: resolved.recordMaxLogBytes,
        startedAt: new Date().toISOString(),
        status: 'running',
        ...(init.resumedFrom && { resumedFrom: init.resumedFrom }),
        ...(resolved.name !== undefined && { name: resolved.name }),
        rankEnv: rankEnvOf(resolved.env, process.env),
        ...slurmJobOf(process.env),
        ...k8sJobOf(process.env),
      };
      writeJsonAtomicSync(path.join(dir, RUN_FILE), record);
      reserveRoom(dir);
      return new RunRecorder(id, dir, record, init);
    } catch (error) {
      // Nothing half-made is left behind: the folder is ours (created exclusively above).
      if (dir) rmSync(dir, { recursive: true, force: true });
      init.warn(
        `this run is not recorded (${(error as Error).message}); the launch goes on. Set DDPRUN_STATE_DIR to a writable folder, or pass --no-record.`,
      );
      return undefined;
    }
  }

  /** Whether `ddprun stop` (or the dashboard's Stop) asked for the stop: its SIGTERM is then no preemption. */
  stopRequested(): boolean {
    return existsSync(path.join(this.dir, STOP_REQUEST_FILE));
  }

  private writeFailed(error: Error, file: string): void {
    if (this.warned) return;
    this.warned = true;
    this.init.warn(
      `the record of run ${this.id} is incomplete: cannot write ${file} (${error.message}); the launch goes on.`,
    );
  }

  /** Every event but `line` (the logs have the bytes), until the record is finished. */
  wants(name: EventName): boolean {
    return name !== 'line' && !this.finished;
  }

  write(name: EventName, payload: EventPayload, t: number): void {
    try {
      if (name === 'output') return this.output(payload as OutputEvent);
      const line = eventJson(name, payload, t);
      if (!this.periodic.offer(name, line)) this.eventsFile.write(line);
      if (name === 'started') this.started(payload as LaunchEvents['started'][0]);
      if (name === 'restarting') this.restarting(payload as { attempt?: unknown });
    } catch {
      // A recorder's trouble never reaches the launch.
    }
  }

  private restarting({ attempt }: { attempt?: unknown }): void {
    if (typeof attempt === 'number' && attempt !== this.record.attempt) {
      this.record.attempt = attempt;
      this.writeRecord();
    }
  }

  /** A rank started: both its logs exist from now on, empty until it writes (a reader may open them at once). */
  private started({ attempt, rank }: LaunchEvents['started'][0]): void {
    if (rank < 0) return; // the torchrun agent: its own lines' files come with its first line
    this.log(attempt, rank, 'stdout');
    this.log(attempt, rank, 'stderr');
  }

  private output({ attempt, rank, stream, chunk }: OutputEvent): void {
    this.log(attempt, rank, stream)?.write(chunk);
  }

  /** One rank stream's log, opened on first use; null when it could not be. */
  private log(attempt: number, rank: number, stream: 'stdout' | 'stderr'): CappedLog | null {
    // A port retry runs the same attempt again: its output continues the same files, as --log-dir's do.
    const key = `${attempt}/${rank}/${stream}`;
    let log = this.logs.get(key);
    if (log === undefined) this.logs.set(key, (log = this.openLog(attempt, rank, stream)));
    return log;
  }

  /** One rank stream's capped log; null (after a warning) when its folder cannot be made. */
  private openLog(attempt: number, rank: number, stream: 'stdout' | 'stderr'): CappedLog | null {
    const file = rankLogFile(this.dir, attempt, rank, stream);
    try {
      const folder = path.dirname(file);
      if (!this.createdDirs.has(folder)) {
        mkdirSync(folder, { recursive: true, mode: DIR_MODE });
        this.createdDirs.add(folder);
      }
      return new CappedLog(file, this.init.resolved.recordMaxLogBytes, (error, f) => this.writeFailed(error, f));
    } catch (error) {
      this.writeFailed(error as Error, file);
      return null;
    }
  }

  private writeRecord(): void {
    const snapshot = structuredClone(this.record);
    this.metaWrites = this.metaWrites
      .then(() => writeJsonAtomic(path.join(this.dir, RUN_FILE), snapshot))
      .catch((error: Error) => this.writeFailed(error, path.join(this.dir, RUN_FILE)));
  }

  /**
   * Ends the record once the launch has ended: the logs and events reach the disk first, then run.json gets the
   * outcome, so a reader that sees a final status has every byte. Waits at most FINISH_TIMEOUT_MS.
   */
  finish(result: LaunchResult | undefined, error?: unknown): Promise<void> {
    this.finished ??= this.end(result, error);
    return this.finished;
  }

  /**
   * The final run.json: where the disk filled up during the run, the room reserved at its start is given up for it,
   * and failing that the outcome is written without the result's details. The reserve goes in any case.
   */
  private async writeFinal(record: RunRecord): Promise<void> {
    const file = path.join(this.dir, RUN_FILE);
    try {
      await writeJsonAtomic(file, record);
    } catch (error) {
      if (!isDiskFull(error)) return this.writeFailed(error as Error, file);
      releaseRoom(this.dir);
      const { result: _details, ...outcome } = record;
      await writeJsonAtomic(file, record)
        .catch(() => writeJsonAtomic(file, outcome))
        .catch((e: Error) => this.writeFailed(e, file));
    } finally {
      releaseRoom(this.dir);
    }
  }

  private async end(result: LaunchResult | undefined, error: unknown): Promise<void> {
    this.periodic.flush();
    const flush = async () => {
      const logs = [...this.logs.values()].filter((log) => log !== null);
      await Promise.all([...logs.map((log) => log.end()), this.eventsFile.end()]);
      await this.metaWrites;
      const record = this.record;
      record.endedAt = new Date().toISOString();
      if (result) {
        record.status = statusOf(result);
        record.exitCode = result.exitCode;
        record.signal = result.signal;
        record.attempt = Math.max(0, result.attempts - 1);
        if (result.rootCause) record.rootCause = result.rootCause;
        record.result = result;
      } else {
        record.status = 'failed';
        record.exitCode = exitCodeForError(error);
        record.error = {
          name: error instanceof Error ? error.name : 'Error',
          message: error instanceof Error ? error.message : String(error),
        };
      }
      await this.writeFinal(record);
    };
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.writeFailed(new Error(`still not written after ${FINISH_TIMEOUT_MS} ms`), this.dir);
        resolve();
      }, FINISH_TIMEOUT_MS);
      timer.unref();
    });
    await Promise.race([flush(), timeout]);
    clearTimeout(timer);
  }
}
