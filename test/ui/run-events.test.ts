import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Dashboard, startDashboard } from 'ddprun';
import { fakeStore } from './browser.js';

// A 12-hour run samples its resources every second: the dashboard keeps the newest 20,000 samples, and never lets
// them push out the run's metrics, epochs and attempts (its charts would lose their first values).
const ID = '20261202-070000-10a9';
const t0 = Date.parse('2026-12-02T07:00:00.000Z');
const at = (s: number): string => new Date(t0 + s * 1000).toISOString();
const SAMPLES = 45_000;
const store = fakeStore([
  {
    id: ID,
    run: { status: 'succeeded', exitCode: 0, startedAt: at(0), endedAt: at(SAMPLES) },
    events: [
      { event: 'started', t: at(0), attempt: 0, rank: 0, localRank: 0, pid: 100 },
      ...[1, 0.5, 0.25].map((value, i) => ({
        event: 'metric',
        t: at(i),
        name: 'loss',
        value,
        step: i,
        rank: 0,
        source: 'json',
      })),
      ...Array.from({ length: SAMPLES }, (_, s) => ({
        event: 'resources',
        t: at(s),
        ranks: [{ rank: 0, pid: 100, cpuPercent: s % 100, rssBytes: 1e8 }],
      })),
      { event: 'metric', t: at(SAMPLES), name: 'loss', value: 0.125, step: 3, rank: 0, source: 'json' },
    ],
  },
]);
let dashboard: Dashboard;
beforeAll(async () => {
  dashboard = await startDashboard({ stateDir: store.stateDir });
});
afterAll(async () => {
  await dashboard?.close();
  store.cleanup();
});

describe('the events a run page gets', () => {
  it('keeps every metric of a long run and the newest 20,000 resource samples, in order', async () => {
    const url = dashboard.url.replace(/\/\?token=.*/, '') + `/api/runs/${ID}`;
    const res = await fetch(url, { headers: { cookie: `ddprun_token=${dashboard.token}` } });
    const { events } = (await res.json()) as { events: { event: string; value?: number; t: string }[] };
    expect(events.filter((e) => e.event === 'metric').map((e) => e.value)).toEqual([1, 0.5, 0.25, 0.125]);
    expect(events.filter((e) => e.event === 'started')).toHaveLength(1);
    const samples = events.filter((e) => e.event === 'resources');
    expect(samples).toHaveLength(20_000);
    expect(samples[0]!.t).toBe(at(SAMPLES - 20_000));
    expect(events.map((e) => e.t)).toEqual(
      events
        .map((e) => e.t)
        .slice()
        .sort(),
    );
  });
});
