import { describe, expect, it } from 'vitest';
import { type LaunchResult, type RankResources, resolveOptions } from 'ddprun';
import { runCli, useSandboxes } from '../cli/helpers.js';
import { torchPython } from '../helpers/python.js';
import { fixture } from './helpers.js';

const python = (await torchPython()) ?? undefined;
const box = useSandboxes();

describe.skipIf(!python)('per-rank resources', () => {
  it("shows a rank's 300 MB, its data-loader child and its busy core in resources events, the result and the summary", async () => {
    const s = box();
    const run = await runCli(
      ['--json', '--nproc-per-node', '2', '--python', python as string, fixture('resources.py'), '6'],
      { env: s.env },
    );
    expect(run.code).toBe(0);
    const events = run.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { event: string; ranks?: unknown[] });
    const samples = events.filter((e) => e.event === 'resources').flatMap((e) => (e.ranks ?? []) as RankResources[]);
    const rank0 = samples.filter((r) => r.rank === 0);
    const rank1 = samples.filter((r) => r.rank === 1);
    expect(rank0.length).toBeGreaterThan(0);
    // The data-loader worker is counted with its rank: two processes, and its 200 MB on top of the rank's 300 MB.
    expect(Math.max(...rank0.map((r) => r.processes))).toBeGreaterThanOrEqual(2);
    expect(Math.max(...rank0.map((r) => r.rssBytes))).toBeGreaterThan(500e6);
    expect(Math.max(...rank1.map((r) => r.rssBytes))).toBeLessThan(100e6);
    expect(Math.max(...rank0.map((r) => r.cpuPercent))).toBeGreaterThan(Math.max(...rank1.map((r) => r.cpuPercent)));
    for (const r of samples) {
      expect(Object.keys(r).sort()).toEqual(['cpuPercent', 'localRank', 'pid', 'processes', 'rank', 'rssBytes']);
    }
    const done = events.at(-1) as unknown as LaunchResult & { event: string };
    expect(done.event).toBe('done');
    expect(done.ranks[0]!.peakRssBytes).toBeGreaterThan(500e6);
    expect(done.ranks[0]!.cpuSeconds).toBeGreaterThan(done.ranks[1]!.cpuSeconds ?? 0);
    expect(done.ranks[1]!.peakRssBytes).toBeLessThan(100e6);
    // The summary's peak columns.
    expect(run.stderr).toMatch(
      / {2}rank {2}exit {2}duration {2}peak RSS {2}CPU time\n {2}0 +0 +\S+ +\d+(\.\d)? [MG]B +\d+\.\ds\n/,
    );
  });

  it('refuses sampling more often than once a second, naming the option', async () => {
    await expect(resolveOptions({ entry: { command: 'true' }, resourceIntervalMs: 200 })).rejects.toThrow(
      'Expected the `resourceIntervalMs` option to be',
    );
  });
});
