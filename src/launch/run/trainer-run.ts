import { rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { EventPublisher } from '../../model/event-stream.js';
import type { DdpTrainer } from '../../model/trainer.js';
import type { LaunchResult, ResolvedOptions, ResumeRecord } from '../../model/types.js';
import { TrainingTracker } from '../../progress/training.js';
import { ddpCleanup, generateDdpFile, generateDdpFileFor } from '../../ultralytics/dist.js';
import { sweepStaleEntryFiles } from '../../ultralytics/entry-file.js';
import { ownCheckpoint, resumingTrainer } from '../../ultralytics/resume.js';
import type { Watchdog } from './pdeathsig.js';

/** Where a restart resumes from: the checkpoint and the epoch it holds. */
export interface ResumePoint {
  lastPt: string;
  epoch: number | undefined;
}

/**
 * Trainer mode's concerns across one launch: the entry files it writes (the first, then one per resumed attempt; all
 * removed at the end, by the watchdog if ddprun is killed), the resume decision before each restart, and the training
 * tracker that follows the Ultralytics run (run folder, results.csv).
 */
export class TrainerRun {
  readonly tracker: TrainingTracker;
  /** The entry file the next attempt runs. */
  entryFile: string | undefined;
  /** The attempts that resumed from this run's last.pt. */
  readonly resumes: ResumeRecord[] = [];
  private readonly entryFiles: string[] = [];

  private constructor(
    private readonly resolved: ResolvedOptions,
    private readonly trainer: DdpTrainer,
    private readonly watchdog: Watchdog,
    private readonly startedAt: number,
    events: EventPublisher,
  ) {
    this.tracker = new TrainingTracker(events, resolved.cwd, trainer.args);
  }

  /**
   * Writes the first entry file (after sweeping what a SIGKILLed launcher left; live launchers' files are kept) and
   * starts the tracker; undefined when the entry is not a trainer. `disposers` gets the exit hook that removes them.
   */
  static async start(
    resolved: ResolvedOptions,
    watchdog: Watchdog,
    startedAt: number,
    events: EventPublisher,
    disposers: (() => void)[],
  ): Promise<TrainerRun | undefined> {
    if (!('trainer' in resolved.entry)) return undefined;
    const trainer = resolved.entry.trainer;
    await sweepStaleEntryFiles(resolved.configDir && path.join(resolved.configDir, 'DDP')).catch(() => []);
    const entryFile = await generateDdpFile(trainer, { configDir: resolved.configDir });
    // A fatal signal (SIGQUIT, SIGUSR2, SIGALRM…) runs no exit hook: the watchdog, which does run, removes it.
    watchdog.removeOnDeath(entryFile);
    const onExit = () => {
      for (const file of run.entryFiles) rmSync(file, { force: true });
    };
    const run = new TrainerRun(resolved, trainer, watchdog, startedAt, events);
    run.entryFile = entryFile;
    run.entryFiles.push(entryFile);
    process.on('exit', onExit);
    disposers.push(() => process.off('exit', onExit));
    return run;
  }

  /**
   * Before restart `attempt` (native backend, one node, `resume` on): when the run folder rank 0 announced holds a
   * `weights/last.pt` this launch wrote, the next entry file resumes from it (`resume='<that path>'`) and the
   * previous resume file goes. Undefined: the restart starts as the first attempt did (no folder yet, no checkpoint
   * of ours, or resume is off).
   */
  async resumePoint(attempt: number): Promise<ResumePoint | undefined> {
    // Several nodes would each decide on their own, and disagree: only a single node resumes.
    if (!this.resolved.resume || this.resolved.maxNodes > 1) return undefined;
    const point = this.tracker.checkpoint();
    const lastPt = point && ownCheckpoint(point.saveDir, this.startedAt);
    if (!point || !lastPt) return undefined;
    const { configDir } = this.resolved;
    const file = await generateDdpFileFor(this.trainer, resumingTrainer(this.trainer, lastPt), { configDir });
    this.watchdog.removeOnDeath(file);
    const previous = this.entryFiles.length > 1 ? this.entryFiles.pop() : undefined;
    this.entryFiles.push(file);
    this.entryFile = file;
    // The previous attempt's ranks are gone: its resume file goes (the first file stays until the end, as before).
    if (previous) await rm(previous, { force: true });
    this.resumes.push({ attempt, resumeFrom: lastPt, epoch: point.epoch });
    return { lastPt, epoch: point.epoch };
  }

  /** The result with the training outcome and the resumed attempts. */
  finish(result: LaunchResult): void {
    const training = this.tracker.finish();
    if (training) result.training = training;
    if (this.resumes.length > 0) result.resumes = [...this.resumes];
  }

  /** Removes every entry file this launch wrote (Ultralytics' own clean-up, else plainly). */
  async cleanup(): Promise<void> {
    for (const file of this.entryFiles) await ddpCleanup(this.trainer, file).catch(() => rmSync(file, { force: true }));
  }
}
