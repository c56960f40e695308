import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { launch } from 'ddprun';
import { torchPython } from '../helpers/python.js';
import { launchFixture, runLauncher, useCleanups } from '../helpers/launch.js';
import { readPids, waitGone } from '../helpers/procs.js';

const python = (await torchPython()) ?? undefined;
const fixture = launchFixture;
const { tempDir: dir } = useCleanups();

describe('teardown edge cases', () => {
  it('ends a successful launch whose rank left a child behind: the child is asked to stop, the process exits 0', async () => {
    const pids = dir();
    // The rank exits 0 at once; its child (in the rank's group, output detached) would run for 60 s.
    const options = {
      entry: { command: 'sh', args: ['-c', `sleep 60 >/dev/null 2>&1 & echo $! > ${pids}/child; exit 0`] },
      nprocPerNode: 1,
    };
    const t0 = Date.now();
    const run = runLauncher(options);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain('result {"exitCode":0,"signal":null}');
    // SIGTERM, not the 30 s grace period: the launch is over in a moment.
    expect(Date.now() - t0).toBeLessThan(20_000);
    expect(await waitGone(readPids(pids), 2000)).toEqual([]);
  });

  it('keeps the process alive while it waits out the grace period of a leftover child that ignores SIGTERM', async () => {
    const pids = dir();
    const child = `sh -c 'trap "" TERM; echo $$ > ${pids}/child; exec sleep 60' >/dev/null 2>&1 &`;
    const options = {
      entry: { command: 'sh', args: ['-c', `${child} sleep 0.2; exit 0`] },
      nprocPerNode: 1,
      gracePeriodMs: 500,
    };
    const run = runLauncher(options);
    // Node must not run out of work (exit code 13) while only the grace timer is pending.
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain('result {"exitCode":0,"signal":null}');
    expect(await waitGone(readPids(pids), 2000)).toEqual([]);
  });

  it('stops the ranks already started when a later rank cannot be set up, and rejects', async () => {
    const logDir = dir();
    // Rank 1's folder is fine (options and folders are checked before any rank), but its log file exists already:
    // rank 0 has started when rank 1's log cannot be created (logs go only into new files).
    mkdirSync(path.join(logDir, 'attempt_0', '1'), { recursive: true });
    writeFileSync(path.join(logDir, 'attempt_0', '1', 'stdout.log'), 'a log that was there before');
    const pids = dir();
    const handle = launch({
      entry: { command: 'sh', args: ['-c', `echo $$ > ${pids}/$RANK; exec sleep 60`] },
      nprocPerNode: 2,
      logDir,
      console: false,
    });
    const started: number[] = [];
    handle.on('started', ({ pid }) => started.push(pid));
    await expect(handle.result).rejects.toThrow(/EEXIST|ENOTDIR/);
    expect(started).toHaveLength(1);
    expect(await waitGone(started, 3000)).toEqual([]);
  });

  it.skipIf(!python)('keeps the root cause when a stop comes while a failure is being torn down', async () => {
    const pids = dir();
    const handle = launch({
      entry: { script: fixture('ignore_term.py'), args: [pids] },
      nprocPerNode: 2,
      gracePeriodMs: 1500,
      console: false,
      handleSignals: false,
    });
    handle.on('exited', ({ rank }) => rank === 0 && handle.stop('SIGINT'));
    const result = await handle.result;
    expect(result.rootCause).toMatchObject({ rank: 0, exitCode: 1 });
    expect(result.exitCode).toBe(1);
    // The first stop did not SIGKILL at once: rank 1 (which ignores SIGTERM) lived to the end of the grace period.
    expect(result.ranks[1]).toMatchObject({ signal: 'SIGKILL' });
    expect(result.ranks[1]!.durationMs).toBeGreaterThanOrEqual(1400);
  });
});
