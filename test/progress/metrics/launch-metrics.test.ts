import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { launch } from '../../../src/launch/run/launch.js';
import type { MetricEvent } from '../../../src/model/types.js';
import { tempDir } from '../../helpers/procs.js';
import { torchPython } from '../../helpers/python.js';

const python = (await torchPython()) ?? undefined;
const FIXTURE = path.resolve('test/fixtures/metrics/log_metrics.py');
const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

/** Runs log_metrics.py on 2 ranks in a fresh working directory; returns the metric events and the run's record. */
async function run(format: string): Promise<{ metrics: MetricEvent[]; stored: Record<string, unknown>[] }> {
  const { dir, cleanup } = tempDir();
  cleanups.push(cleanup);
  const cwd = path.join(dir, 'work');
  mkdirSync(cwd);
  const metrics: MetricEvent[] = [];
  const handle = launch({
    entry: { script: FIXTURE, args: [format] },
    nprocPerNode: 2,
    console: false,
    cwd,
    ...(python && { python }),
  });
  handle.on('metric', (e) => metrics.push(e));
  const result = await handle.result;
  expect(result.exitCode).toBe(0);
  const file = path.join(process.env.DDPRUN_STATE_DIR!, 'runs', handle.runId!, 'events.jsonl');
  const stored = readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((e) => e.event === 'metric');
  return { metrics, stored };
}

const series = (events: readonly { name?: unknown; value?: unknown; step?: unknown }[]) =>
  events.map((e) => `${String(e.name)}@${String(e.step)}=${String(e.value)}`);

describe.skipIf(!python)('metrics of a real 2-rank gloo run', () => {
  it("reads rank 0's printed Hugging Face log dicts as metric events, in the handle and in the store", async () => {
    const { metrics, stored } = await run('dict');
    const loss = metrics.filter((m) => m.name === 'loss');
    // Rank 1 printed the same dicts with 100 added: only rank 0's output is read.
    expect(loss.map((m) => [m.value, m.epoch, m.rank, m.source])).toEqual([
      [1, 1, 0, 'dict'],
      [0.5, 2, 0, 'dict'],
      [0.25, 3, 0, 'dict'],
      [0.375, 4, 0, 'dict'],
    ]);
    expect(metrics.filter((m) => m.name === 'eval_accuracy').map((m) => m.value)).toEqual([0.5, 0.75]);
    expect(new Set(metrics.map((m) => m.name))).toEqual(
      new Set(['loss', 'learning_rate', 'eval_loss', 'eval_accuracy']),
    );
    // The store has the same events, with the same payload.
    expect(stored.map((e) => `${String(e.name)}=${String(e.value)}`)).toEqual(
      metrics.map((m) => `${m.name}=${m.value}`),
    );
  });

  it('reads the one-line JSON form', async () => {
    const { metrics } = await run('json');
    expect(series(metrics)).toEqual(['loss@10=1', 'loss@20=0.5', 'loss@30=0.25', 'loss@40=0.375']);
  });

  it("gives the same series from Lightning's metrics.csv and from a TensorBoard event file", async () => {
    const csv = await run('csv');
    const tb = await run('tb');
    const expected = ['loss@10=1', 'loss@20=0.5', 'acc@20=0.5', 'loss@30=0.25', 'loss@40=0.375', 'acc@40=0.75'];
    expect(series(csv.metrics)).toEqual(expected);
    expect(series(tb.metrics)).toEqual(expected);
    expect(csv.metrics.every((m) => m.source === 'csv' && m.rank === 0)).toBe(true);
    expect(tb.metrics.every((m) => m.source === 'tensorboard' && m.rank === 0)).toBe(true);
    // Lightning's CSV has the epoch; a TensorBoard scalar has only its step.
    expect(csv.metrics.map((m) => m.epoch)).toEqual([0, 1, 1, 2, 3, 3]);
    expect(series(csv.stored)).toEqual(expected);
  });
});
