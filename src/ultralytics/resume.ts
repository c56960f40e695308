import { statSync } from 'node:fs';
import path from 'node:path';
import type { DdpTrainer } from '../model/trainer.js';

/** What Ultralytics' `check_resume` takes from the new arguments on resume; every other argument comes from last.pt. */
export const RESUME_OVERRIDABLE = ['imgsz', 'batch', 'device', 'close_mosaic'] as const;

/** `<run folder>/weights/last.pt`, the checkpoint Ultralytics writes after every epoch. */
export function lastPtOf(saveDir: string): string {
  return path.join(saveDir, 'weights', 'last.pt');
}

/**
 * The run folder's `weights/last.pt` when it is a regular file written at or after `sinceMs` (this run's start), else
 * undefined: a checkpoint left by an earlier run in a reused folder (`exist_ok=True`) is not this run's to resume.
 * The comparison is made at whole seconds, so a file system with coarse timestamps does not hide this run's file.
 */
export function ownCheckpoint(saveDir: string, sinceMs: number): string | undefined {
  const file = lastPtOf(saveDir);
  try {
    const stats = statSync(file);
    if (!stats.isFile()) return undefined;
    return stats.mtimeMs >= Math.floor(sinceMs / 1000) * 1000 ? file : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The trainer of an attempt that resumes from `lastPt`: its arguments with `resume` set to that explicit path (never
 * `True`, which lets Ultralytics pick the newest last.pt anywhere under runs/), and `resume` set so that nothing ever
 * removes the run folder for it. The path is data: it reaches the entry file through the literal encoder.
 */
export function resumingTrainer(trainer: DdpTrainer, lastPt: string): DdpTrainer {
  const { saveDir: _saveDir, ...rest } = trainer;
  return { ...rest, args: { ...trainer.args, resume: lastPt }, resume: lastPt };
}
