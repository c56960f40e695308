import { describe, expect, it } from 'vitest';
import { MetricHub, SPARSE_AFTER, SPARSE_MS, THIN_AFTER, THIN_MS } from '../../../src/progress/metrics/hub.js';
import type { MetricEvent } from '../../../src/model/types.js';

function hub(): { hub: MetricHub; events: MetricEvent[]; clock: { now: number } } {
  const events: MetricEvent[] = [];
  const clock = { now: 1_000_000 };
  return {
    hub: new MetricHub(
      (e) => events.push(e),
      () => clock.now,
    ),
    events,
    clock,
  };
}

describe('MetricHub', () => {
  it('keeps the first values as logged, then one event per window with the count, min and max it stands for', () => {
    const { hub: h, events, clock } = hub();
    for (let i = 0; i < THIN_AFTER; i++) h.add('json', 0, [{ name: 'loss', value: i, step: i }]);
    expect(events).toHaveLength(THIN_AFTER);
    // 100 more values within one window: held back; the next window's first value sends them as one event.
    for (let i = 0; i < 100; i++) h.add('json', 0, [{ name: 'loss', value: i % 2 ? -i : i, step: THIN_AFTER + i }]);
    expect(events).toHaveLength(THIN_AFTER); // past the threshold, a value waits THIN_MS after the last one sent
    clock.now += THIN_MS;
    h.add('json', 0, [{ name: 'loss', value: 7, step: 9999 }]);
    expect(events.at(-1)).toMatchObject({ name: 'loss', value: 7, step: 9999, n: 101, min: -99, max: 98 });
    h.flush();
    expect(events.reduce((n, e) => n + (e.n ?? 1), 0)).toBe(THIN_AFTER + 101);
  });

  it('thins further past SPARSE_AFTER events, and never a metric logged less often than the window', () => {
    const { hub: h, events, clock } = hub();
    for (let i = 0; i < SPARSE_AFTER; i++) {
      clock.now += THIN_MS;
      h.add('json', 0, [{ name: 'loss', value: i }]);
    }
    expect(events).toHaveLength(SPARSE_AFTER);
    clock.now += THIN_MS;
    h.add('json', 0, [{ name: 'loss', value: 1 }]);
    expect(events).toHaveLength(SPARSE_AFTER);
    clock.now += SPARSE_MS;
    h.add('json', 0, [{ name: 'loss', value: 2 }]);
    expect(events.at(-1)).toMatchObject({ value: 2, n: 2, min: 1, max: 2 });
  });

  it('records the first convention that logs and ignores the others; the JSON form always counts', () => {
    const { hub: h, events } = hub();
    h.add('dict', 0, [{ name: 'loss', value: 1 }]);
    h.add('tensorboard', 0, [{ name: 'train/loss', value: 1 }]);
    h.add('json', 0, [{ name: 'mine', value: 3 }]);
    expect(events.map((e) => `${e.source}:${e.name}`)).toEqual(['dict:loss', 'json:mine']);
    expect(h.source).toBe('dict');
  });
});
