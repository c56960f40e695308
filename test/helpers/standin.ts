import { readFileSync } from 'node:fs';
import path from 'node:path';
import { FIXTURES } from './python.js';

/** The stand-in Ultralytics trainer of test/fixtures/ultralytics (importable with `standinEnv`'s PYTHONPATH). */
export const STANDIN_TRAINER = 'ultralytics.models.yolo.standin.train.DetectionTrainer';

/**
 * `ddprun train` arguments for the stand-in: 2 ranks and `flags`, then 3 epochs on the CPU into `<out>/runs/exp` and
 * the trainer arguments `args` (which may override those).
 */
export const standinTrainArgs = (
  out: string,
  flags: readonly string[] = [],
  args: readonly string[] = [],
): string[] => [
  ...['train', '--nproc-per-node', '2', ...flags, STANDIN_TRAINER],
  ...['epochs=3', 'device=cpu', `project=${path.join(out, 'runs')}`, 'name=exp', ...args],
];

/** `env` plus what the stand-in needs: its PYTHONPATH and how long a batch takes (seconds), then `extra`. */
export const standinEnv = (
  env: NodeJS.ProcessEnv,
  batchSeconds: string,
  extra: Record<string, string> = {},
): NodeJS.ProcessEnv => ({ ...env, PYTHONPATH: FIXTURES, DDPRUN_STANDIN_BATCH_S: batchSeconds, ...extra });

/** Column `column` of the run folder's results.csv (0: epoch, 1: time), one number per epoch. */
export const resultsColumn = (dir: string, column: number): number[] =>
  readFileSync(path.join(dir, 'results.csv'), 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => Number(line.split(',')[column]));

/** The epochs in the run folder's results.csv. */
export const epochsOf = (dir: string): number[] => resultsColumn(dir, 0);

/** The JSON events in `ddprun --json` output; `of(name)`: those named `name`, without their `event` key. */
export function jsonEvents(stdout: string): {
  all: ({ event: string } & Record<string, unknown>)[];
  of: <T>(name: string) => T[];
} {
  const all = stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { event: string } & Record<string, unknown>);
  return {
    all,
    // The payload: the line without its `event` and version (`v`).
    of: <T>(name: string) => all.filter((e) => e.event === name).map(({ event: _, v: _v, ...rest }) => rest as T),
  };
}
