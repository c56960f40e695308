import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CLI,
  FIXTURES,
  WORKER,
  processesWith,
  runCli,
  startCli,
  unreachableMaster,
  useSandboxes,
  type Sandbox,
} from './helpers.js';
import { pidAlive, until, waitGone } from '../helpers/procs.js';
import { torchPython } from '../helpers/python.js';
import { listRuns } from 'ddprun';

const python = await torchPython();
const RUNS_WORKER = path.join(FIXTURES, 'runs_worker.py');
const ID = /^\d{8}-\d{6}-[0-9a-f]{4}$/;

// Every detached launcher a test started is SIGKILLed after it (its ranks die with it), before the sandbox goes.
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
const box = useSandboxes();

interface PsRow {
  id: string;
  status: string;
  ranks: number;
  pid: number;
  exitCode: number | null;
  command: string;
  attempt: number;
}

async function ps(s: Sandbox, ...flags: string[]): Promise<PsRow[]> {
  const run = await runCli(['ps', '--json', ...flags], { env: s.env });
  expect(run.code).toBe(0);
  return run.stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as PsRow);
}

/** Starts a detached run; returns its id (the launcher is killed after the test). */
async function detach(s: Sandbox, args: string[]): Promise<string> {
  const run = await runCli(['--detach', ...args], { env: s.env });
  expect(run.stderr).toMatch(/ddprun: running in the background \(launcher pid \d+\): ddprun logs -f /);
  expect(run.code).toBe(0);
  const id = run.stdout.trim();
  expect(id).toMatch(ID);
  const row = (await ps(s, '--all')).find((r) => r.id === id);
  if (row) launchers.push(row.pid);
  return id;
}

/** The pids of a run's ranks, as its record's `started` events name them. */
function rankPids(s: Sandbox, id: string): number[] {
  const events = readFileSync(path.join(s.state, 'runs', id, 'events.jsonl'), 'utf8')
    .trim()
    .split('\n');
  return events
    .map((l) => JSON.parse(l) as { event: string; pid?: number })
    .filter((e) => e.event === 'started')
    .map((e) => e.pid as number);
}

async function show(s: Sandbox, id: string): Promise<Record<string, unknown>> {
  const run = await runCli(['show', '--json', id], { env: s.env });
  expect(run.code).toBe(0);
  return JSON.parse(run.stdout) as Record<string, unknown>;
}

describe.skipIf(!python)('detached runs with real torch', () => {
  it('a 2-rank gloo run: the id at once, running in ps, logs -f to its end with its exit code, then show', async () => {
    const s = box();
    const gate = path.join(s.out, 'gate');
    const id = await detach(s, ['--nproc-per-node', '2', RUNS_WORKER, 'allreduce', gate]);
    const rows = await ps(s);
    expect(rows).toMatchObject([{ id, status: 'running', ranks: 2, attempt: 0, exitCode: null }]);
    expect(rows[0]?.command).toBe(`ddprun --detach --nproc-per-node 2 ${RUNS_WORKER} allreduce ${gate}`);

    const follow = startCli(['logs', '-f', id.slice(0, 18)], { env: s.env });
    // Both ranks have all-reduced (their lines are in the store) before the gate opens.
    await until('both ranks’ lines', () =>
      ['0', '1'].every((r) =>
        readFileSync(path.join(s.state, 'runs', id, 'logs', 'attempt_0', r, 'stdout.log'), 'utf8').includes('sum=3'),
      ),
    );
    writeFileSync(gate, '');
    const followed = await follow.done;
    expect(followed.code).toBe(0);
    expect(followed.stdout.split('\n').sort()).toEqual(['', '[rank0]:rank=0 sum=3', '[rank1]:rank=1 sum=3']);
    expect(followed.stderr).toContain('[rank1]:rank 1 waits for the gate\n');

    const record = await show(s, id);
    expect(record).toMatchObject({ id, status: 'succeeded', exitCode: 0 });
    expect((record.result as { ranks: unknown[] }).ranks).toMatchObject([
      { rank: 0, exitCode: 0, signal: null },
      { rank: 1, exitCode: 0, signal: null },
    ]);
    const human = await runCli(['show', id], { env: s.env });
    expect(human.stdout).toMatch(/^run \S+ {2}succeeded\n/);
    expect(human.stdout).toMatch(
      /ddprun succeeded in .* \(1 attempt\)\n {2}rank {2}exit {2}duration {2}peak RSS {2}CPU time\n {2}0 {5}0 /,
    );
    expect(await ps(s)).toEqual([]);
  });

  it('a run whose rank 1 raises: show says failed, with the traceback', async () => {
    const s = box();
    const id = await detach(s, ['--nproc-per-node', '2', '--grace-period', '2', RUNS_WORKER, 'raise', 'none']);
    const followed = await runCli(['logs', '--follow', id], { env: s.env });
    expect(followed.code).toBe(1);
    const record = await show(s, id);
    expect(record).toMatchObject({ status: 'failed', exitCode: 1, rootCause: { rank: 1, source: 'error-file' } });
    const human = await runCli(['show', id], { env: s.env });
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^run \S+ {2}failed \(exit code 1\)$/m);
    expect(human.stdout).toMatch(/ddprun failed in .* \(1 attempt\)/);
    expect(human.stdout).toMatch(/Root cause: rank 1 \(local rank 1, pid \d+, host .*\) failed with exit code 1/);
    expect(human.stdout).toContain('ValueError: cannot read dataset /data/missing.yaml');
    expect(human.stdout).toMatch(/Traceback \(most recent call last\):/);
  });
});

describe('detached runs', () => {
  it('stop: the run ends stopped and the OS has none of its pids left (show and logs -f before it)', async () => {
    const s = box();
    let followed = '';
    const id = await detach(s, ['--nproc-per-node', '2', WORKER, 'sleep', s.out]);
    const [row] = await ps(s);
    const pids = [row!.pid, ...rankPids(s, id)];
    expect(pids).toHaveLength(3);
    // show of a live run: the ranks so far, from its events.
    const live = await runCli(['show', id], { env: s.env });
    expect(live.stdout).toMatch(/^run \S+ {2}running\n/);
    expect(live.stdout).toMatch(/ddprun running in .* \(1 attempt\)\n {2}rank {2}exit {2}duration\n {2}0 {5}- /);
    // Ctrl-C ends the following, never the run.
    const follow = startCli(['logs', '-f', id], { env: s.env });
    follow.child.stdout?.on('data', (chunk: Buffer | string) => (followed += String(chunk)));
    await until('logs -f to print', () => followed.includes('[rank1]:ready'));
    follow.child.kill('SIGINT');
    expect((await follow.done).code).toBe(130);
    expect(await ps(s)).toMatchObject([{ id, status: 'running' }]);
    const stop = await runCli(['stop', id], { env: s.env });
    expect(stop.stderr).toBe(`ddprun: run ${id} stopped by SIGTERM\n`);
    expect(stop.stdout).toBe(`${id}\n`);
    expect(stop.code).toBe(0);
    expect(await show(s, id)).toMatchObject({ status: 'stopped', exitCode: 143, signal: 'SIGTERM' });
    expect(await waitGone(pids, 10_000)).toEqual([]);
  });

  it('stop --kill: a second stop at once SIGKILLs ranks that ignore SIGTERM', async () => {
    const s = box();
    const script = 'trap "" TERM; echo ready; while :; do sleep 1; done';
    const id = await detach(s, ['--nproc-per-node', '2', '--grace-period', '600', '--no-python', 'sh', '-c', script]);
    const pids = [(await ps(s))[0]!.pid, ...rankPids(s, id)];
    const stop = await runCli(['stop', '--kill', '--timeout', '60', id], { env: s.env });
    expect(stop.code).toBe(0);
    const record = await show(s, id);
    expect(record).toMatchObject({ status: 'stopped', exitCode: 143 });
    expect((record.result as { ranks: { signal: string }[] }).ranks.map((r) => r.signal)).toEqual([
      'SIGKILL',
      'SIGKILL',
    ]);
    expect(await waitGone(pids, 10_000)).toEqual([]);
  });

  it('SIGKILL to the launcher: ps shows the run lost, and no rank is left', async () => {
    const s = box();
    const id = await detach(s, ['--nproc-per-node', '2', WORKER, 'sleep', s.out]);
    const [row] = await ps(s);
    const ranks = rankPids(s, id);
    process.kill(row!.pid, 'SIGKILL');
    expect(await waitGone([row!.pid, ...ranks], 10_000)).toEqual([]);
    expect(await ps(s)).toEqual([]);
    expect(await ps(s, '--all')).toMatchObject([{ id, status: 'lost' }]);
    const table = await runCli(['ps', '--all'], { env: s.env });
    expect(table.stdout).toMatch(new RegExp(`^${id} +lost +2 +1/1 +\\S+ +- +ddprun --detach`, 'm'));
    // Already where a stop would take it: success, said plainly (nothing signalled).
    const stop = await runCli(['stop', id], { env: s.env });
    expect(stop.code).toBe(0);
    expect(stop.stderr).toContain(`ddprun: The run ${id} is not running: its launcher (pid ${row!.pid}) is gone`);
  });

  it('keeps running to completion when the terminal that started it closes', async () => {
    const s = box();
    const idFile = path.join(s.out, 'id');
    const marker = path.join(s.out, 'detached');
    // A real terminal (script's pty) whose shell detaches a run, then waits; killing script hangs the terminal up.
    const inner = `${process.execPath} ${CLI} -d --no-python sh -c 'sleep 3; echo finished' > ${idFile} && touch ${marker}; sleep 120`;
    const terminal = spawn('script', ['-qec', inner, '/dev/null'], { env: s.env, stdio: 'ignore', detached: true });
    await until('the detached run', () => existsSync(marker));
    const id = readFileSync(idFile, 'utf8').trim();
    const row = (await ps(s))[0]!;
    launchers.push(row.pid);
    const shellSleep = processesWith('sleep 120');
    process.kill(-(terminal.pid as number), 'SIGKILL');
    // The terminal's session is gone (its shell got SIGHUP), the run goes on.
    expect(await waitGone(shellSleep, 10_000)).toEqual([]);
    expect(pidAlive(row.pid)).toBe(true);
    const followed = await runCli(['logs', '-f', id], { env: s.env });
    expect(followed.stdout).toBe('[rank0]:finished\n');
    expect(followed.code).toBe(0);
    expect(await show(s, id)).toMatchObject({ status: 'succeeded', exitCode: 0 });
  });

  it('rejects bad input before detaching: exit 2, nothing recorded, nothing started', async () => {
    const s = box();
    const run = await runCli(['-d', '--nproc-per-node', '0', WORKER, 'sleep', s.out], { env: s.env });
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^error: .*--nproc-per-node/);
    expect(existsSync(s.state)).toBe(false);
    const missing = await runCli(['-d', 'no-such-script.py'], { env: s.env });
    expect(missing.code).toBe(2);
    const noRecord = await runCli(['-d', '--no-record', WORKER, 'ok', s.out], { env: s.env });
    expect(noRecord.code).toBe(2);
    expect(noRecord.stderr).toContain('--detach needs the run’s record'.replace('’', "'"));
    expect(existsSync(s.state)).toBe(false);
  });

  it('exits 1 with the launch’s error when it cannot start after detaching', async () => {
    const s = box();
    // A node that never finds its master: the launch fails at start-up, in the detached launcher.
    const run = await runCli(['-d', ...unreachableMaster('1'), '--no-python', 'true'], { env: s.env });
    expect(run.stdout).toBe('');
    // The launcher's own error, passed back through its pipe (not "exited before its ranks started").
    expect(run.stderr).toMatch(/^error: .*127\.0\.0\.1:9/);
    expect(run.stderr).not.toContain('before its ranks started');
    expect(run.code).toBe(1);
  });
});

describe('the record of a foreground run', () => {
  it('ps, show, logs --rank/--tail/--json after the run; --no-record leaves nothing', async () => {
    const s = box();
    const script = 'for i in 1 2 3; do echo "line $i of $RANK"; done; echo "err $RANK" >&2';
    const run = await runCli(['--nproc-per-node', '2', '--no-python', 'sh', '-c', script], { env: s.env });
    expect(run.code).toBe(0);
    const [row] = await ps(s, '--all');
    expect(row).toMatchObject({ status: 'succeeded', exitCode: 0, ranks: 2 });
    const id = row!.id;
    const logs = await runCli(['logs', id], { env: s.env });
    expect(logs.stdout).toBe(
      '[rank0]:line 1 of 0\n[rank0]:line 2 of 0\n[rank0]:line 3 of 0\n[rank1]:line 1 of 1\n[rank1]:line 2 of 1\n[rank1]:line 3 of 1\n',
    );
    expect(logs.stderr).toBe('[rank0]:err 0\n[rank1]:err 1\n');
    const tail = await runCli(['logs', '--rank', '1', '--tail', '1', id], { env: s.env });
    expect(tail.stdout).toBe('[rank1]:line 3 of 1\n');
    const json = await runCli(['logs', '--json', '--rank', '0', id], { env: s.env });
    expect(
      json.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as unknown),
    ).toEqual([
      { attempt: 0, rank: 0, stream: 'stdout', text: 'line 1 of 0' },
      { attempt: 0, rank: 0, stream: 'stdout', text: 'line 2 of 0' },
      { attempt: 0, rank: 0, stream: 'stdout', text: 'line 3 of 0' },
      { attempt: 0, rank: 0, stream: 'stderr', text: 'err 0' },
    ]);
    const again = await runCli(['--no-record', '--no-python', 'sh', '-c', 'echo hi'], { env: s.env });
    expect(again.code).toBe(0);
    expect(await ps(s, '--all')).toHaveLength(1);
  });

  it('unknown and ambiguous ids are usage errors naming the candidates', async () => {
    const s = box();
    for (let i = 0; i < 2; i++) expect((await runCli(['--no-python', 'true'], { env: s.env })).code).toBe(0);
    const ids = (await ps(s, '--all')).map((r) => r.id);
    const common = ids[0]!.slice(0, 8);
    // Newest run first, as ps lists them (two runs of the same second are ordered by their start time, not their id).
    const candidates = ids.join(', ');
    for (const command of ['show', 'logs', 'stop']) {
      const ambiguous = await runCli([command, common], { env: s.env });
      expect(ambiguous.code).toBe(2);
      expect(ambiguous.stderr).toBe(
        `error: The run id "${common}" is ambiguous: 2 runs start with it (${candidates}). Give more of the id.\n`,
      );
      const unknown = await runCli([command, 'nope'], { env: s.env });
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toContain(
        `error: No run has the id or name "nope" in ${path.join(s.state, 'runs')}. Recent runs: `,
      );
    }
    const finished = await runCli(['stop', ids[0]!], { env: s.env });
    expect(finished.code).toBe(0);
    expect(finished.stdout).toBe('');
    expect(finished.stderr).toBe(
      `ddprun: The run ${ids[0]} is not running: it has ended (status succeeded, exit code 0). Nothing was signalled.\n`,
    );
  });

  it('20 concurrent launches get 20 distinct, complete records', async () => {
    const s = box();
    const runs = await Promise.all(
      Array.from({ length: 20 }, (_, i) => runCli(['--no-python', 'sh', '-c', `echo run ${i}`], { env: s.env })),
    );
    expect(runs.map((r) => r.code)).toEqual(Array(20).fill(0));
    const records = listRuns({ all: true, stateDir: s.state });
    expect(new Set(records.map((r) => r.id)).size).toBe(20);
    const said = records.map((r) => {
      expect(r).toMatchObject({ status: 'succeeded', exitCode: 0 });
      const events = readFileSync(path.join(r.dir, 'events.jsonl'), 'utf8').trim().split('\n');
      expect(events.map((l) => (JSON.parse(l) as { event: string }).event)).toEqual(['started', 'exited', 'done']);
      const out = readFileSync(path.join(r.dir, 'logs', 'attempt_0', '0', 'stdout.log'), 'utf8');
      expect(r.argv.at(-1)).toBe(out.trim().replace('run ', 'echo run '));
      return out;
    });
    expect(said.sort()).toEqual(Array.from({ length: 20 }, (_, i) => `run ${i}\n`).sort());
  });
});
