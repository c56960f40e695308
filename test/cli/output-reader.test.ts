import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, FIXTURES, useSandboxes } from './helpers.js';
import { pidAlive, rankBlocks, readPids, until, waitGone, written } from '../helpers/procs.js';

const box = useSandboxes();
const FLOOD = path.join(FIXTURES, 'launch', 'flood.py');
const started: ChildProcess[] = [];
afterEach(() => {
  // A pipeline left running (a hang) is killed whole: bash, ddprun and the reader share its process group.
  for (const child of started.splice(0)) {
    if (!child.pid || child.exitCode !== null || child.signalCode !== null) continue;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      child.kill('SIGKILL'); // not a group leader: ddprun itself (its ranks die with it: parent-death signal)
    }
  }
});

/** Runs `bash -c script` in its own process group; `$CLI` is the built ddprun. */
function bash(
  script: string,
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn('bash', ['-c', script], {
    env: { ...env, CLI: `${process.execPath} ${CLI}` },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

describe('a reader that closes early', () => {
  it('stops the ranks and exits 141 (SIGPIPE), with the summary on stderr, when stdout is piped into head -1', async () => {
    const s = box();
    const run = await bash(
      `$CLI --nproc-per-node 2 --grace-period 5 ${FLOOD} ${s.out} | head -1; echo "ddprun exited \${PIPESTATUS[0]}" >&2`,
      s.env,
    );
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^\[rank[01]\]:rank[01] line 0 x+\n$/);
    expect(run.stderr).toContain('ddprun exited 141');
    expect(run.stderr).toMatch(/ddprun stopped by SIGPIPE in .* \(1 attempt\)/);
    expect(await waitGone(readPids(s.out), 5000)).toEqual([]);
  });

  it('stops the ranks and exits 141 when stdout and stderr both go to grep -m1, which exits at its match', async () => {
    const s = box();
    const run = await bash(
      `$CLI --nproc-per-node 2 ${FLOOD} ${s.out} 2>&1 | grep -m1 "rank1 line 5 "; echo "ddprun exited \${PIPESTATUS[0]}" >&2`,
      s.env,
    );
    expect(run.stdout).toMatch(/^\[rank1\]:rank1 line 5 x+\n$/);
    expect(run.stderr).toBe('ddprun exited 141\n');
    expect(await waitGone(readPids(s.out), 5000)).toEqual([]);
  });

  it('stops the ranks and exits 141 when the reader of --json events closes', async () => {
    const s = box();
    const run = await bash(
      `$CLI --json --nproc-per-node 2 ${FLOOD} ${s.out} | head -1; echo "ddprun exited \${PIPESTATUS[0]}" >&2`,
      s.env,
    );
    // The first event: OMP_NUM_THREADS' warning (unless the environment sets it), else rank 0's start.
    expect(JSON.parse(run.stdout)).toMatchObject({
      v: 1,
      event: expect.stringMatching(/^(warning|started)$/) as unknown,
    });
    expect(run.stderr).toContain('ddprun exited 141');
    expect(await waitGone(readPids(s.out), 5000)).toEqual([]);
  });
});

/** Resident memory of a process, in MiB. */
function rssMiB(pid: number): number {
  return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024;
}

describe('a slow reader', () => {
  it('blocks the ranks instead of buffering their output (--json, stdout not read): memory stays bounded, nothing is lost', async () => {
    const s = box();
    const lines = 300_000; // ≈ 18 MB from the rank, ≈ 30 MB of JSON
    const child = spawn(process.execPath, [CLI, '--json', FLOOD, s.out, String(lines)], {
      env: s.env,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    started.push(child);
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
    await until('the rank to start', () => readPids(s.out).length === 1);
    const [rank] = readPids(s.out) as [number];
    // Nothing reads ddprun's stdout yet: the rank must end up blocked in its own write, long before it is done.
    expect(await rankBlocks(rank)).toBe(true);
    expect(written(rank)).toBeLessThan(lines * 50);
    expect(rssMiB(child.pid as number)).toBeLessThan(200);
    let events = 0;
    let tail = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      const text = tail + d;
      const parts = text.split('\n');
      tail = parts.pop() as string;
      events += parts.filter((p) => p.includes(',"event":"line",')).length;
    });
    expect(await closed).toBe(0);
    expect(events).toBe(lines);
  });

  it('waits for a slow reader after the ranks exited: the last output in the pipes is not cut off after 2 s', async () => {
    const s = box();
    // ≈ 860 KB, far more than the socket to this test and the readers hold; the rank's own pipe (grown to 1 MiB, the
    // most a pipe holds without CAP_SYS_RESOURCE) holds the rest, so the rank exits with most of its output unread.
    const lines = 15_000;
    const child = spawn(process.execPath, [CLI, FLOOD, s.out, String(lines)], {
      env: { ...s.env, SEND_BUFFER: String(8 << 20) },
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    started.push(child);
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
    await until('the rank to start', () => readPids(s.out).length === 1);
    const [rank] = readPids(s.out) as [number];
    await until('the rank to exit', () => !pidAlive(rank));
    // Longer than the 2 s ddprun gives a pipe held open by a process that escaped the rank's group.
    await new Promise((r) => setTimeout(r, 3000));
    let received = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (received += d));
    expect(await closed).toBe(0);
    expect(received.split('\n').filter((l) => l.startsWith('[rank0]:')).length).toBe(lines);
  });
});
