import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EventStream } from '../../src/launch/run/event-stream.js';
import { launch } from '../../src/launch/run/launch.js';
import { resolveOptions } from '../../src/launch/resolve/options.js';
import { getRun, listRuns, readRunEvents } from '../../src/store/read.js';
import { listRankLogs, readRankLog } from '../../src/store/rank-logs.js';
import { RunRecorder } from '../../src/store/recorder.js';
import { tempDir } from '../helpers/procs.js';

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

const ISO_MS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

function store(): string {
  const { dir, cleanup } = tempDir('ddprun-store-');
  cleanups.push(cleanup);
  return dir;
}

describe('the run store records every launch', () => {
  it('writes run.json, events.jsonl and each rank’s output byte for byte', async () => {
    // Partial lines, carriage returns and non-ASCII text: the store keeps exactly what the rank wrote.
    const script = 'printf "out of $RANK\\n\\r50%%\\r100%%\\nno newline é"; printf "err of $RANK\\n" >&2; exit 0';
    const handle = launch({ entry: { command: 'sh', args: ['-c', script] }, nprocPerNode: 2, console: false });
    const id = handle.runId as string;
    expect(id).toMatch(/^\d{8}-\d{6}-[0-9a-f]{4}$/);
    const result = await handle.result;
    expect(result.exitCode).toBe(0);

    const run = getRun(id);
    expect(run).toMatchObject({
      schema: 1,
      id,
      source: 'library',
      argv: ['--no-python', 'sh', '-c', script],
      cwd: process.cwd(),
      host: os.hostname(),
      user: os.userInfo().username,
      status: 'succeeded',
      exitCode: 0,
      nprocPerNode: 2,
      worldSize: 2,
      attempt: 0,
      logDir: null,
      launcher: { pid: process.pid },
    });
    expect(run.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(typeof run.launcher.startTime).toBe('number');
    expect(run.startedAt).toMatch(ISO_MS);
    expect(run.endedAt).toMatch(ISO_MS);
    expect(run.result?.ranks.map((r) => [r.rank, r.exitCode])).toEqual([
      [0, 0],
      [1, 0],
    ]);
    expect(run.options).toMatchObject({ nprocPerNode: 2, localRanksFilter: [0, 1], record: true });

    const events = readRunEvents(id);
    for (const e of events) {
      expect(e.v).toBe(1);
      expect(e.t).toMatch(ISO_MS);
    }
    const names = events.map((e) => e.event);
    expect(names.filter((n) => n === 'started')).toHaveLength(2);
    expect(names.filter((n) => n === 'exited')).toHaveLength(2);
    expect(names.at(-1)).toBe('done');
    expect(names).not.toContain('line');
    expect(events.find((e) => e.event === 'started')).toMatchObject({ attempt: 0, pid: expect.any(Number) as number });
    expect(events.at(-1)).toMatchObject({ exitCode: 0, attempts: 1 });

    const logs = listRankLogs(run.dir);
    expect(logs.map((l) => `${l.attempt}/${l.rank}/${l.stream}`)).toEqual([
      '0/0/stdout',
      '0/0/stderr',
      '0/1/stdout',
      '0/1/stderr',
    ]);
    for (const rank of [0, 1]) {
      expect(readFileSync(path.join(run.dir, 'logs', 'attempt_0', String(rank), 'stdout.log'), 'utf8')).toBe(
        `out of ${rank}\n\r50%\r100%\nno newline é`,
      );
      expect(readFileSync(path.join(run.dir, 'logs', 'attempt_0', String(rank), 'stderr.log'), 'utf8')).toBe(
        `err of ${rank}\n`,
      );
    }
  });

  it('keeps folders 0700 and files 0600', async () => {
    const handle = launch({ entry: { command: 'sh', args: ['-c', 'echo hi'] }, console: false });
    await handle.result;
    const run = getRun(handle.runId as string);
    const state = process.env.DDPRUN_STATE_DIR as string;
    for (const dir of [path.join(state, 'runs'), run.dir, path.join(run.dir, 'logs', 'attempt_0', '0')])
      expect(statSync(dir).mode & 0o777).toBe(0o700);
    for (const file of ['run.json', 'events.jsonl', 'logs/attempt_0/0/stdout.log'])
      expect(statSync(path.join(run.dir, file)).mode & 0o777).toBe(0o600);
  });

  it('records nothing with record: false', async () => {
    const before = listRuns({ all: true }).length;
    const handle = launch({ entry: { command: 'sh', args: ['-c', 'echo hi'] }, console: false, record: false });
    expect(handle.runId).toBeUndefined();
    expect((await handle.result).exitCode).toBe(0);
    expect(listRuns({ all: true })).toHaveLength(before);
  });

  it('records nothing for bad options', async () => {
    const before = listRuns({ all: true }).length;
    const handle = launch({ entry: { command: 'sh' }, nprocPerNode: 0, console: false });
    await expect(handle.result).rejects.toThrow(/nprocPerNode/);
    expect(listRuns({ all: true })).toHaveLength(before);
    expect(() => getRun(handle.runId as string)).toThrow(/No run has the id/);
  });

  it('records a restart: the attempt in run.json, the restarting event, and each attempt’s logs', async () => {
    const script = 'echo "attempt $TORCHELASTIC_RESTART_COUNT"; [ "$TORCHELASTIC_RESTART_COUNT" = 1 ] || exit 3';
    const handle = launch({
      entry: { command: 'sh', args: ['-c', script] },
      nprocPerNode: 1,
      maxRestarts: 1,
      console: false,
    });
    expect((await handle.result).exitCode).toBe(0);
    const run = getRun(handle.runId as string);
    expect(run).toMatchObject({ status: 'succeeded', attempt: 1, maxRestarts: 1 });
    expect(readRunEvents(run.id).filter((e) => e.event === 'restarting')).toMatchObject([{ attempt: 1 }]);
    expect(
      listRankLogs(run.dir)
        .filter((l) => l.stream === 'stdout')
        .map((l) => [l.attempt, readRankLog(l)]),
    ).toEqual([
      [0, 'attempt 0\n'],
      [1, 'attempt 1\n'],
    ]);
  });

  it('records a stop: status stopped, the stopping event, exit code 143', async () => {
    const handle = launch({
      entry: { command: 'sh', args: ['-c', 'echo ready; exec sleep 60'] },
      nprocPerNode: 2,
      console: false,
      handleSignals: false,
    });
    let ready = 0;
    handle.on('started', () => {
      if (++ready === 2) handle.stop();
    });
    const result = await handle.result;
    expect(result.signal).toBe('SIGTERM');
    const run = getRun(handle.runId as string);
    expect(run).toMatchObject({ status: 'stopped', exitCode: 143, signal: 'SIGTERM' });
    expect(readRunEvents(run.id).filter((e) => e.event === 'stopping')).toMatchObject([
      { signal: 'SIGTERM', force: false },
    ]);
  });

  it('caps each rank stream: the head byte for byte, a marker, then the most recent output', async () => {
    // 200 lines of 100 bytes (20,000 bytes) against a 4,096-byte cap.
    const script = 'i=0; while [ $i -lt 200 ]; do printf "%099d\\n" $i; i=$((i+1)); done';
    const handle = launch({
      entry: { command: 'sh', args: ['-c', script] },
      console: false,
      recordMaxLogBytes: 4096,
      resume: true,
    });
    expect((await handle.result).exitCode).toBe(0);
    const run = getRun(handle.runId as string);
    expect(run.maxLogBytes).toBe(4096);
    const [ref] = listRankLogs(run.dir);
    const text = readRankLog(ref!);
    const full = Array.from({ length: 200 }, (_, i) => `${String(i).padStart(99, '0')}\n`).join('');
    const marker = text.indexOf('\n[ddprun: stdout.log passed the store');
    expect(marker).toBe(2048);
    expect(text.slice(0, 2048)).toBe(full.slice(0, 2048));
    const afterMarker = text.slice(text.indexOf(']\n', marker) + 2);
    // The most recent part: between a quarter and a half of the cap, ending with the last line written.
    expect(afterMarker.length).toBeGreaterThanOrEqual(1024);
    expect(afterMarker.length).toBeLessThanOrEqual(2048 + 100);
    expect(full.endsWith(afterMarker)).toBe(true);
    const onDisk = readdirSync(path.dirname(ref!.files[0]!)).reduce(
      (sum, f) => sum + statSync(path.join(path.dirname(ref!.files[0]!), f)).size,
      0,
    );
    expect(onDisk).toBeLessThan(4096 + 600);
  });
});

describe('the recorder hears every event by name', () => {
  it('writes events other helpers add (resources, hang, epoch) with no change, and never `line`', async () => {
    const state = store();
    const resolved = await resolveOptions({ entry: { command: 'sh' }, console: false });
    const warnings: string[] = [];
    const recorder = RunRecorder.open({
      id: '20261202-000000-abcd',
      resolved,
      argv: ['--no-python', 'sh'],
      stateDir: state,
      warn: (m) => warnings.push(m),
    });
    expect(recorder?.id).toBe('20261202-000000-abcd');
    // Payloads other than today's, as a helper adding to an event could publish them.
    const events = new EventStream([recorder!]) as unknown as { publish(name: string, payload: unknown): void };
    events.publish('resources', { cpuPercent: 12.5, rssBytes: 1024 });
    events.publish('line', { rank: 0, localRank: 0, stream: 'stdout', text: 'never recorded' });
    events.publish('hang', { rank: 1, stack: 'File "x.py", line 3' });
    events.publish('epoch', 3);
    await recorder?.finish(undefined, new Error('boom'));
    const lines = readFileSync(path.join(state, 'runs', '20261202-000000-abcd', 'events.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => Object.keys(l).slice(0, 3))).toEqual([
      ['v', 't', 'event'],
      ['v', 't', 'event'],
      ['v', 't', 'event'],
    ]);
    expect(lines).toMatchObject([
      { v: 1, event: 'resources', cpuPercent: 12.5, rssBytes: 1024 },
      { v: 1, event: 'hang', rank: 1, stack: 'File "x.py", line 3' },
      { v: 1, event: 'epoch', data: 3 },
    ]);
    const run = getRun('20261202-000000-abcd', { stateDir: state });
    expect(run).toMatchObject({ status: 'failed', exitCode: 1, error: { name: 'Error', message: 'boom' } });
    expect(warnings).toEqual([]);
  });

  it('two recorders given the same id get distinct records', async () => {
    const state = store();
    const resolved = await resolveOptions({ entry: { command: 'sh' }, console: false });
    const open = () =>
      RunRecorder.open({
        id: '20261202-000000-abcd',
        resolved,
        argv: undefined,
        stateDir: state,
        warn: () => {},
      });
    const [a, b] = [open(), open()];
    expect(a?.id).toBe('20261202-000000-abcd');
    expect(b?.id).toMatch(/^\d{8}-\d{6}-[0-9a-f]{4}$/);
    expect(b?.id).not.toBe(a?.id);
    await Promise.all([a?.finish(undefined, new Error('x')), b?.finish(undefined, new Error('y'))]);
    expect(existsSync(path.join(state, 'runs', b?.id as string, 'run.json'))).toBe(true);
  });
});
