import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readPids, tempDir, waitGone } from '../helpers/procs.js';
import { torchPython } from '../helpers/python.js';

const python = (await torchPython()) ?? undefined;
const launcher = path.resolve('test/fixtures/launch/launcher.mjs');
const sleeper = path.resolve('test/fixtures/launch/sleeper.py');
const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

/** Starts a real ddprun parent (the built library) running 2 sleeping ranks; resolves once both ranks are up. */
async function startParent(env: Record<string, string> = {}): Promise<{
  parent: ChildProcess;
  pids: string;
  output: () => string;
  exit: Promise<[number | null, NodeJS.Signals | null]>;
}> {
  const { dir, cleanup } = tempDir();
  cleanups.push(cleanup);
  const parent = spawn(
    process.execPath,
    [launcher, JSON.stringify({ entry: { script: sleeper, args: [dir] }, nprocPerNode: 2, gracePeriodMs: 5000, env })],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  cleanups.push(() => parent.kill('SIGKILL'));
  let out = '';
  parent.stdout?.on('data', (d) => (out += d));
  parent.stderr?.on('data', (d) => (out += d));
  const exit = new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    parent.on('exit', (code, signal) => resolve([code, signal])),
  );
  const deadline = Date.now() + 60_000;
  while (!((out.match(/\]:ready/g)?.length ?? 0) >= 2) && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 20));
  expect(out).toContain('launched');
  return { parent, pids: dir, output: () => out, exit };
}

describe.skipIf(!python)('ddprun as a real parent process', () => {
  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ] as const)('forwards %s to every rank, leaves none alive, and exits with %i', async (signal, code) => {
    const { parent, pids, output, exit } = await startParent();
    const ranks = readPids(pids);
    expect(ranks).toHaveLength(2);
    parent.kill(signal);
    const [exitCode] = await exit;
    expect(exitCode).toBe(code);
    expect(output()).toContain(`result {"exitCode":${code},"signal":"${signal}"}`);
    expect(await waitGone(ranks, 2000)).toEqual([]);
  });

  it('leaves no rank alive, and no run folder, when ddprun itself is SIGKILLed', async () => {
    const { parent, pids, exit } = await startParent();
    const ranks = readPids(pids);
    const runDir = path.join(
      os.tmpdir(),
      readdirSync(os.tmpdir()).find((d) => d.startsWith(`ddprun-${parent.pid}-`)) ?? 'missing',
    );
    expect(existsSync(runDir)).toBe(true);
    parent.kill('SIGKILL');
    expect(await exit).toEqual([null, 'SIGKILL']);
    expect(await waitGone(ranks, 3000)).toEqual([]);
    const deadline = Date.now() + 3000;
    while (existsSync(runDir) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(existsSync(runDir)).toBe(false);
  });

  it("also kills the ranks' own children when ddprun is SIGKILLed", async () => {
    const { parent, pids, exit } = await startParent({ SPAWN_CHILD: '1' });
    const all = readPids(pids);
    expect(all).toHaveLength(4);
    parent.kill('SIGKILL');
    await exit;
    expect(await waitGone(all, 3000)).toEqual([]);
  });
});
