import { existsSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { launchFixture, readyRanks, startLauncher, useCleanups } from '../helpers/launch.js';
import { readPids, until, waitGone } from '../helpers/procs.js';
import { torchPython } from '../helpers/python.js';

const python = (await torchPython()) ?? undefined;
const { cleanups, tempDir } = useCleanups();

/** Starts a real ddprun parent (the built library) running 2 sleeping ranks; resolves once both ranks are up. */
async function startParent(env: Record<string, string> = {}) {
  const pids = tempDir();
  const sleeper = {
    entry: { script: launchFixture('sleeper.py'), args: [pids] },
    nprocPerNode: 2,
    gracePeriodMs: 5000,
  };
  const launcher = startLauncher({ ...sleeper, env }, cleanups);
  await until('both ranks to be ready', () => readyRanks(launcher) >= 2);
  expect(launcher.output()).toContain('launched');
  return { parent: launcher.proc, pids, output: launcher.output, exit: launcher.exit };
}

describe.skipIf(!python)('ddprun as a real parent process', () => {
  it.each([
    ['SIGINT', 130],
    // A SIGTERM from outside (no `ddprun stop` asked for it) is a preemption: 75 (test/launch/preempted.test.ts).
    ['SIGTERM', 75],
    ['SIGHUP', 129],
  ] as const)(
    'stops every rank on %s (leader-first, with --stop-signal), leaves none alive, and exits with %i',
    async (signal, code) => {
      const { parent, pids, output, exit } = await startParent();
      const ranks = readPids(pids);
      expect(ranks).toHaveLength(2);
      parent.kill(signal);
      const [exitCode] = await exit;
      expect(exitCode).toBe(code);
      expect(output()).toContain(`result {"exitCode":${code},"signal":"${signal}"`);
      expect(await waitGone(ranks, 2000)).toEqual([]);
    },
  );

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
    await until('the run folder to go', () => !existsSync(runDir), { timeoutMs: 3000 });
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
