import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { processIdentity } from '../../src/os/process-identity.js';
import { pruneRuns } from '../../src/store/gc.js';
import { getRun, listRuns, resolveRunId, RunNotFoundError } from '../../src/store/read.js';
import { RunNotRunningError, stopRun } from '../../src/store/stop.js';
import type { RunRecord } from '../../src/store/types.js';
import { pidAlive, tempDir } from '../helpers/procs.js';

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

function store(): string {
  const { dir, cleanup } = tempDir('ddprun-store-');
  cleanups.push(cleanup);
  return dir;
}

/** A live process that is not a ddprun launcher, killed after the test. */
function bystander(): ChildProcess {
  const child = spawn('sleep', ['120'], { stdio: 'ignore' });
  cleanups.push(() => child.kill('SIGKILL'));
  return child;
}

const me = processIdentity();

/** A record as a launcher writes it; what the store holds is all a reader has, so these are real files. */
function writeRun(state: string, id: string, fields: Partial<RunRecord> = {}): void {
  const dir = path.join(state, 'runs', id);
  mkdirSync(dir, { recursive: true });
  const record: RunRecord = {
    schema: 1,
    id,
    argv: ['train.py'],
    source: 'cli',
    options: { gracePeriodMs: 1000 },
    cwd: '/',
    host: os.hostname(),
    user: 'me',
    version: '0.1.0',
    launcher: { pid: me.pid, startTime: me.start, bootId: me.boot },
    nprocPerNode: 2,
    worldSize: 2,
    maxRestarts: 0,
    attempt: 0,
    logDir: null,
    maxLogBytes: 1024,
    startedAt: '2026-12-02T02:15:03.000Z',
    status: 'succeeded',
    endedAt: '2026-12-02T02:16:03.000Z',
    exitCode: 0,
    ...fields,
  };
  writeFileSync(path.join(dir, 'run.json'), JSON.stringify(record));
}

describe('run ids and prefixes', () => {
  it('accepts a full id or a unique prefix; an ambiguous or unknown one is a usage error naming the candidates', () => {
    const state = store();
    writeRun(state, '20261202-021503-a3f9');
    writeRun(state, '20261202-021503-b001');
    writeRun(state, '20261203-101010-0c0c');
    const opts = { stateDir: state };
    expect(resolveRunId('20261202-021503-a3f9', opts)).toBe('20261202-021503-a3f9');
    expect(resolveRunId('20261202-021503-a', opts)).toBe('20261202-021503-a3f9');
    expect(resolveRunId('20261203', opts)).toBe('20261203-101010-0c0c');
    expect(() => resolveRunId('20261202', opts)).toThrow(
      'The run id "20261202" is ambiguous: 2 runs start with it (20261202-021503-b001, 20261202-021503-a3f9). Give more of the id.',
    );
    expect(() => resolveRunId('2027', opts)).toThrow(
      `No run has the id "2027" in ${path.join(state, 'runs')}. Recent runs: 20261203-101010-0c0c, 20261202-021503-b001, 20261202-021503-a3f9 (see \`ddprun ps --all\`).`,
    );
    const error = (() => {
      try {
        resolveRunId('20261202', opts);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(RunNotFoundError);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as RunNotFoundError).candidates).toEqual(['20261202-021503-a3f9', '20261202-021503-b001']);
    expect(() => resolveRunId('', opts)).toThrow(/No run has the id ""/);
  });

  it('lists running runs, or with all every run, newest first; lost when the launcher is gone', () => {
    const state = store();
    const other = bystander();
    writeRun(state, '20261202-021503-a3f9');
    writeRun(state, '20261202-031503-b001', {
      status: 'running',
      endedAt: undefined,
      exitCode: undefined,
      startedAt: '2026-12-02T03:15:03.000Z',
    });
    // Its pid is alive, but it is another process now (a different start time): the launcher is gone.
    writeRun(state, '20261202-041503-c002', {
      status: 'running',
      endedAt: undefined,
      startedAt: '2026-12-02T04:15:03.000Z',
      launcher: { pid: other.pid as number, startTime: 1, bootId: me.boot },
    });
    expect(listRuns({ stateDir: state }).map((r) => [r.id, r.status])).toEqual([['20261202-031503-b001', 'running']]);
    expect(listRuns({ stateDir: state, all: true }).map((r) => [r.id, r.status])).toEqual([
      ['20261202-041503-c002', 'lost'],
      ['20261202-031503-b001', 'running'],
      ['20261202-021503-a3f9', 'succeeded'],
    ]);
    expect(getRun('20261202-0215', { stateDir: state })).toMatchObject({ elapsedMs: 60_000, status: 'succeeded' });
  });
});

describe('stopRun refuses what is not a running launcher of ours, and signals nothing', () => {
  it('a record whose pid now belongs to another process', async () => {
    const state = store();
    const other = bystander();
    const start = processIdentity(other.pid).start as number;
    writeRun(state, '20261202-041503-c002', {
      status: 'running',
      endedAt: undefined,
      launcher: { pid: other.pid as number, startTime: start - 1, bootId: me.boot },
    });
    await expect(stopRun('20261202', { stateDir: state })).rejects.toThrow(
      'The run 20261202-041503-c002 is not running: its launcher (pid ' +
        `${other.pid}) is gone (status lost). Nothing was signalled.`,
    );
    await expect(stopRun('20261202', { stateDir: state })).rejects.toBeInstanceOf(RunNotRunningError);
    await new Promise((r) => setTimeout(r, 200));
    expect(pidAlive(other.pid as number)).toBe(true);
    expect(other.exitCode).toBeNull();
    expect(other.signalCode).toBeNull();
  });

  it('a finished run', async () => {
    const state = store();
    writeRun(state, '20261202-021503-a3f9', { status: 'failed', exitCode: 3 });
    await expect(stopRun('20261202-021503-a3f9', { stateDir: state })).rejects.toThrow(
      'The run 20261202-021503-a3f9 is not running: it has ended (status failed, exit code 3). Nothing was signalled.',
    );
  });

  it('a run on another host', async () => {
    const state = store();
    writeRun(state, '20261202-021503-a3f9', { status: 'running', endedAt: undefined, host: 'elsewhere.example' });
    expect(getRun('20261202-021503-a3f9', { stateDir: state }).status).toBe('running');
    await expect(stopRun('20261202-021503-a3f9', { stateDir: state })).rejects.toThrow(
      `The run 20261202-021503-a3f9 runs on elsewhere.example, not on this host (${os.hostname()}): stop it there.`,
    );
  });
});

describe('pruneRuns (ddprun gc)', () => {
  const day = 86_400_000;
  const now = Date.parse('2027-02-01T00:00:00.000Z');
  const at = (daysAgo: number) => new Date(now - daysAgo * day).toISOString();

  function fill(state: string): void {
    writeRun(state, '20261201-000000-0001', { startedAt: at(62), endedAt: at(61) }); // 61 days old
    writeRun(state, '20261202-000000-0002', { startedAt: at(40), endedAt: at(40), status: 'failed', exitCode: 1 });
    // Old but running (this test process is its launcher): never pruned.
    writeRun(state, '20261203-000000-0003', { startedAt: at(50), status: 'running', endedAt: undefined });
    writeRun(state, '20270125-000000-0004', { startedAt: at(7), endedAt: at(7) });
    writeRun(state, '20270130-000000-0005', { startedAt: at(2), endedAt: at(2), status: 'stopped' });
    writeRun(state, '20270131-000000-0006', { startedAt: at(1), endedAt: at(1) });
  }

  it('removes finished runs older than 30 days, never a running one', async () => {
    const state = store();
    fill(state);
    const pruned = await pruneRuns({ stateDir: state, now });
    expect(pruned.map((p) => [p.id, p.reason])).toEqual([
      ['20261202-000000-0002', 'age'],
      ['20261201-000000-0001', 'age'],
    ]);
    expect(readdirSync(path.join(state, 'runs')).sort()).toEqual([
      '20261203-000000-0003',
      '20270125-000000-0004',
      '20270130-000000-0005',
      '20270131-000000-0006',
    ]);
  });

  it('keeps the newest N finished runs with keep, the age limit with maxAgeDays, and removes nothing with dryRun', async () => {
    const state = store();
    fill(state);
    const planned = await pruneRuns({ stateDir: state, now, keep: 2, maxAgeDays: 45, dryRun: true });
    expect(planned.map((p) => [p.id, p.reason])).toEqual([
      ['20270125-000000-0004', 'count'],
      ['20261202-000000-0002', 'count'],
      ['20261201-000000-0001', 'age'],
    ]);
    expect(readdirSync(path.join(state, 'runs'))).toHaveLength(6);
    await pruneRuns({ stateDir: state, now, keep: 2, maxAgeDays: 45 });
    expect(readdirSync(path.join(state, 'runs')).sort()).toEqual([
      '20261203-000000-0003',
      '20270130-000000-0005',
      '20270131-000000-0006',
    ]);
    expect(existsSync(state)).toBe(true);
  });
});
