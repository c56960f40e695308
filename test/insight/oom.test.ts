import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startCli, useSandboxes } from '../cli/helpers.js';
import { useCleanups } from '../helpers/launch.js';
import { waitGone } from '../helpers/procs.js';
import { torchPython } from '../helpers/python.js';
import { canMakeMemoryCgroup, fixture, go, memoryCgroup, rankPid } from './helpers.js';

const python = (await torchPython()) ?? undefined;
const cgroups = canMakeMemoryCgroup();
const box = useSandboxes();
const { cleanups } = useCleanups();

/**
 * A real OOM kill: `ddprun [flags] wait_then.py` on 2 ranks; rank 1 is moved into a cgroup-v1 memory cgroup limited
 * to 150 MB, then allocates 10 MB at a time. Resolves how the CLI ended, rank 1's pid and the cgroup.
 */
async function oomKilledRun(flags: string[]) {
  const s = box();
  const cgroup = memoryCgroup(150 * 1000 * 1000);
  cleanups.push(cgroup.remove);
  const pids = path.join(s.dir, 'pids');
  mkdirSync(pids);
  const run = startCli([...flags, '--nproc-per-node', '2', '--python', python!, fixture('wait_then.py'), pids, 'oom'], {
    env: s.env,
  });
  const pid = await rankPid(pids, 1);
  cgroup.add(pid);
  go(pids);
  return { done: await run.done, pid, pids, cgroup };
}

describe.skipIf(!python || !cgroups)('a rank killed by the kernel OOM killer', () => {
  it('is explained as oom-killed, in the console summary and in --json', async () => {
    const { done, pid, pids, cgroup } = await oomKilledRun([]);
    process.stdout.write(`--- console output of the OOM test ---\n${done.stderr}\n---\n`);
    expect(cgroup.oomKills()).toBeGreaterThanOrEqual(1);
    expect(done.code).toBe(137);
    expect(done.stderr).toMatch(/ddprun failed in .* \(1 attempt\)\n/);
    // "(peak RSS …)" once a sample was taken; "(RSS … when killed)" when the rank died before the first one.
    expect(done.stderr).toContain(
      `  oom-killed: The kernel's OOM killer killed rank 1 (pid ${pid}): its memory cgroup ran out of memory (`,
    );
    // With the rank's size: "(peak RSS 158 MB)", "(peak RSS … of its … limit)" or "(RSS … when killed)".
    expect(done.stderr).toMatch(/ran out of memory \((peak )?RSS \d[\d.]* [kMG]?B[^)\n]*\)/);
    expect(done.stderr).toContain(
      '  hint: Lower the batch size or the data-loader workers (each worker holds its own copy of what it loads), or give the job more memory.',
    );
    expect(await waitGone([pid, await rankPid(pids, 0)], 5000)).toEqual([]);
  });

  it('puts the explanation in the --json done event', async () => {
    const { done, pid } = await oomKilledRun(['--json']);
    const events = done.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { event: string; rootCause?: { explanation?: { kind: string; message: string } } });
    const last = events.at(-1);
    expect(last?.event).toBe('done');
    expect(last?.rootCause?.explanation?.kind).toBe('oom-killed');
    expect(last?.rootCause?.explanation?.message).toMatch(
      new RegExp(`^The kernel's OOM killer killed rank 1 \\(pid ${pid}\\)`),
    );
  });
});
