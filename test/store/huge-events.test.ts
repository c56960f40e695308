import { appendFileSync, readFileSync, statSync, truncateSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startDashboard } from '../../src/ui/server.js';
import { WORKER, runCli, useSandboxes, type Sandbox } from '../cli/helpers.js';
import { measuredCli } from '../helpers/measured-cli.js';
import { until, waitGone } from '../helpers/procs.js';
import { torchPython } from '../helpers/python.js';

const python = await torchPython();
const box = useSandboxes();
const launchers: number[] = [];
afterEach(async () => {
  for (const pid of launchers.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
    await waitGone([pid], 10_000);
  }
});

/** Past V8's longest string (0x1fffffe8 characters): what a reader holding events.jsonl as one string cannot read. */
const HUGE = 600 * 1024 * 1024;
/** A generous bound on a store reader's peak RSS (one that reads the file whole needs more than HUGE). */
const MAX_RSS_MIB = 200;

async function detachSleeper(s: Sandbox): Promise<string> {
  const run = await runCli(['--detach', '--stack-dumps', '--nproc-per-node', '2', WORKER, 'sleep', s.out], {
    env: s.env,
  });
  expect(run.code).toBe(0);
  const id = run.stdout.trim();
  const record = JSON.parse(readFileSync(path.join(s.state, 'runs', id, 'run.json'), 'utf8')) as {
    launcher: { pid: number };
  };
  launchers.push(record.launcher.pid);
  const log = (rank: number) => path.join(s.state, 'runs', id, 'logs', 'attempt_0', String(rank), 'stdout.log');
  await until('both ranks to be ready', () =>
    [0, 1].every((rank) => {
      try {
        return readFileSync(log(rank), 'utf8').includes('ready');
      } catch {
        return false;
      }
    }),
  );
  return id;
}

describe.skipIf(!python)('a live run whose events.jsonl is past 512 MiB', () => {
  it('still has show, stacks, the dashboard and stop working, each in bounded memory', async () => {
    const s = box();
    const id = await detachSleeper(s);
    const events = path.join(s.state, 'runs', id, 'events.jsonl');
    // A sparse 600 MiB stretch (one endless line of zeros), then the launcher's events go on after it.
    truncateSync(events, statSync(events).size + HUGE);
    appendFileSync(events, '\n');

    const show = await measuredCli(['show', id], { env: s.env }).done;
    expect(show.stderr).toBe('');
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(new RegExp(`^run ${id} {2}running\\n`));
    expect(show.stdout).toMatch(/\n {2}rank {2}exit {2}duration\n {2}0 {5}- .*\n {2}1 {5}- /);
    expect(show.maxRssMiB).toBeLessThan(MAX_RSS_MIB);

    const stacks = await measuredCli(['stacks', id], { env: s.env }).done;
    expect(stacks.stderr).toBe('');
    expect(stacks.code).toBe(0);
    expect(stacks.stdout).toMatch(/^ {2}rank 0 \(pid \d+\) is in /m);
    expect(stacks.maxRssMiB).toBeLessThan(MAX_RSS_MIB);

    // The dashboard's view of the run has the newest events, from past the 600 MiB stretch.
    const dashboard = await startDashboard({ stateDir: s.state });
    try {
      const res = await fetch(`${new URL(dashboard.url).origin}/api/runs/${id}`, {
        headers: { cookie: `ddprun_token=${dashboard.token}` },
      });
      expect(res.status).toBe(200);
      const detail = (await res.json()) as { events: { event: string }[] };
      expect(detail.events.map((e) => e.event)).toContain('stacks');
    } finally {
      await dashboard.close();
    }

    const stop = await measuredCli(['stop', id], { env: s.env }).done;
    expect(stop.stderr).toBe(`ddprun: run ${id} stopped by SIGTERM\n`);
    expect(stop.code).toBe(0);
    expect(stop.maxRssMiB).toBeLessThan(MAX_RSS_MIB);
  });
});
