import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CLI, ensureBuilt, sandbox } from '../cli/helpers.js';
import { canForcePids, identify, occupyPid, startTimeOf, stillRunning, waitAllGone } from '../helpers/pid-reuse.js';
import { startLauncher, useCleanups, type LauncherProcess } from '../helpers/launch.js';
import { readPids, until, waitGone } from '../helpers/procs.js';
import { FIXTURES, torchPython } from '../helpers/python.js';

const { cleanups } = useCleanups();
beforeAll(() => ensureBuilt());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Polls for at most 30 s (5 s, 10 s where said): what these tests wait for happens in a moment. */
const soon = (what: string | (() => string), ok: () => boolean, timeoutMs = 30_000) =>
  until(what, ok, { timeoutMs, everyMs: 20 });

interface Parent extends LauncherProcess {
  tmp: string;
  /** The launch's run folder (`$TMPDIR/ddprun-<pid>-<hex>`). */
  runDir: () => string | undefined;
}

/** A real ddprun process (the built library, fixtures/launch/launcher.mjs) with its own TMPDIR, HOME and config dir. */
async function startParent(options: Record<string, unknown>, ranks: number): Promise<Parent> {
  const box = sandbox();
  cleanups.push(box.cleanup);
  const tmp = String(box.env.TMPDIR);
  const parent = startLauncher({ nprocPerNode: ranks, ...options }, cleanups, box.env);
  await soon(
    () => `launched; output:\n${parent.output()}`,
    () => parent.output().includes('launched'),
  );
  const runDir = () => {
    const name = readdirSync(tmp).find((d) => d.startsWith(`ddprun-${parent.proc.pid}-`));
    return name && path.join(tmp, name);
  };
  return { ...parent, tmp, runDir };
}

function pidsDir(): string {
  const box = sandbox();
  cleanups.push(box.cleanup);
  return box.out;
}

/** Children of `ppid` whose command line contains `text`. */
function childrenOf(ppid: number, text: string): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
        const ppidOf = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        return ppidOf === ppid && readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(text);
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** Rank 0 exits 0 at once; the other ranks record their pid and sleep. */
const earlyExit = (pids: string) => ({
  entry: {
    command: 'sh',
    args: ['-c', `echo $$ > ${pids}/$RANK; if [ "$RANK" = 0 ]; then exit 0; fi; exec sleep 120`],
  },
  gracePeriodMs: 3000,
});

/**
 * Rank 0 exits early, and its pid goes to an unrelated `setsid sleep` (its own session and group); then `end`
 * ends ddprun. Runs the scenario again (at most 5 times) when another process on the machine took the pid first.
 */
async function withReusedPid(end: (parent: Parent) => Promise<void>) {
  for (let tries = 0; tries < 5; tries++) {
    const pids = pidsDir();
    const parent = await startParent(earlyExit(pids), 2);
    await soon('both ranks’ pids', () => readdirSync(pids).length === 2);
    const [rank0, rank1] = [0, 1].map((r) => Number(readFileSync(path.join(pids, String(r)), 'utf8')));
    // Reaped by ddprun: the pid is free.
    await soon('rank 0 to be reaped', () => !existsSync(`/proc/${rank0}`));
    const stranger = occupyPid(rank0 as number);
    if (!stranger) {
      parent.proc.kill('SIGKILL');
      await parent.exit;
      await waitGone([rank1 as number], 5000);
      continue;
    }
    cleanups.push(stranger.kill);
    // Identified by pid and start time: writing ns_last_pid moved the kernel's pid cursor back here, so the pids
    // around rank 0's are handed out again as soon as they are free.
    const rank1Id = { pid: rank1 as number, start: startTimeOf(rank1 as number) ?? -1 };
    await end(parent);
    return { stranger, rank1: rank1Id, parent };
  }
  throw new Error('another process took the freed pid 5 times in a row');
}

// Needs root (ns_last_pid); in CI a missing right is a failure, not a skip.
describe.skipIf(!canForcePids() && !process.env.CI)(
  'only groups that are ours are signalled after pid reuse (issue 17 item 2)',
  () => {
    it("leaves alone an unrelated process that got an exited rank's pid when ddprun is stopped", async () => {
      const { stranger, rank1, parent } = await withReusedPid(async (p) => {
        p.proc.kill('SIGTERM');
        expect(await p.exit).toEqual([75, null]);
      });
      // A SIGTERM from outside is a preemption (exit 75).
      expect(parent.output()).toContain('result {"exitCode":75,"signal":"SIGTERM"');
      await soon('rank 1 to end', () => !stillRunning(rank1), 5000);
      expect(stillRunning(stranger)).toBe(true);
    });

    it('leaves it alone when ddprun is SIGKILLed and its watchdog takes the ranks down', async () => {
      const { stranger, rank1, parent } = await withReusedPid(async (p) => {
        const runDir = p.runDir();
        expect(runDir && existsSync(runDir)).toBe(true);
        p.proc.kill('SIGKILL');
        expect(await p.exit).toEqual([null, 'SIGKILL']);
        // The watchdog removes the run folder last: once it is gone, the watchdog is done.
        await soon('the watchdog to remove the run folder', () => !existsSync(runDir as string));
      });
      expect(parent.output()).not.toContain('result');
      await soon('rank 1 to end', () => !stillRunning(rank1), 5000);
      expect(stillRunning(stranger)).toBe(true);
    });
  },
);

const python = (await torchPython()) ?? undefined;

describe.skipIf(!python)('the trainer entry file after a fatal signal (issue 17 item 12)', () => {
  it.each(['SIGQUIT', 'SIGUSR2', 'SIGALRM'] as const)(
    'is removed by the watchdog when ddprun dies of %s',
    async (signal) => {
      const pids = pidsDir();
      const box = sandbox();
      cleanups.push(box.cleanup);
      const configDir = box.configDir;
      const parent = await startParent(
        {
          entry: {
            trainer: {
              module: 'ultralytics.models.yolo.stress.train',
              className: 'StressTrainer',
              args: { outcome: 'sleep', pids },
            },
          },
          configDir,
          env: { PYTHONPATH: FIXTURES },
        },
        2,
      );
      const ddp = path.join(configDir, 'DDP');
      const files = readdirSync(ddp);
      expect(files).toHaveLength(1);
      await soon('both ranks’ pids', () => readdirSync(pids).length === 2);
      const ranks = identify(readPids(pids));
      parent.proc.kill(signal);
      expect(await parent.exit).toEqual([null, signal]);
      expect(await waitAllGone(ranks)).toEqual([]);
      await soon(
        () => `the entry file to go; left: ${readdirSync(ddp).join(', ')}`,
        () => readdirSync(ddp).length === 0,
        10_000,
      );
    },
  );
});

/** Ranks that start a child (a data-loader worker stand-in) and wait for it; pids as "rank child". */
const withChild = (pids: string) => ({
  entry: { command: 'sh', args: ['-c', `sleep 120 & echo $$ $! > ${pids}/$RANK; wait`] },
  gracePeriodMs: 3000,
});

async function rankAndChildPids(pids: string, ranks: number) {
  // Each rank writes "<pid> <child pid>"; a file can exist before its content does.
  const written = () =>
    readdirSync(pids).filter((f) => /^\d+ \d+$/.test(readFileSync(path.join(pids, f), 'utf8').trim())).length;
  await soon('every rank’s pid pair', () => written() === ranks);
  const pairs = readdirSync(pids).map((f) => readFileSync(path.join(pids, f), 'utf8').trim().split(' ').map(Number));
  return { ranks: identify(pairs.map((p) => p[0] as number)), children: identify(pairs.map((p) => p[1] as number)) };
}

function runCli(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env, encoding: 'utf8', timeout: 60_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, stdout, stderr }),
    );
  });
}

describe('when ddprun and its watchdog are both SIGKILLed (issue 17 item 13)', () => {
  it("`ddprun gc` finds the run folder, ends the ranks' surviving children and removes the folder", async () => {
    const pids = pidsDir();
    const parent = await startParent(withChild(pids), 2);
    const { ranks, children } = await rankAndChildPids(pids, 2);
    const runDir = parent.runDir() as string;
    expect(existsSync(runDir)).toBe(true);
    const [watchdog] = childrenOf(parent.proc.pid as number, 'ddprun-watchdog');
    expect(watchdog).toBeGreaterThan(0);
    // Frozen first, so that neither can react to the other's death; then both killed.
    process.kill(parent.proc.pid as number, 'SIGSTOP');
    process.kill(watchdog as number, 'SIGSTOP');
    process.kill(watchdog as number, 'SIGKILL');
    process.kill(parent.proc.pid as number, 'SIGKILL');
    cleanups.push(() => children.filter(stillRunning).forEach((p) => process.kill(p.pid, 'SIGKILL')));
    await parent.exit;
    // The parent-death signal takes the ranks; their children survive, and so does the run folder.
    expect(await waitAllGone(ranks)).toEqual([]);
    await sleep(300);
    expect(children.filter(stillRunning)).toEqual(children);
    expect(existsSync(runDir)).toBe(true);

    const box = sandbox();
    cleanups.push(box.cleanup);
    const gc = await runCli(['gc'], { ...box.env, TMPDIR: parent.tmp });
    expect(gc.code, gc.stderr).toBe(0);
    expect(gc.stdout).toContain(`removed the run folder ${runDir} of a dead launcher (pid ${parent.proc.pid})`);
    expect(gc.stdout).toContain('ended 2 of its processes');
    expect(await waitAllGone(children)).toEqual([]);
    expect(existsSync(runDir)).toBe(false);
  });

  it('`ddprun gc` keeps the run folder of a live launcher and its processes', async () => {
    const pids = pidsDir();
    const parent = await startParent(withChild(pids), 1);
    const { ranks, children } = await rankAndChildPids(pids, 1);
    const runDir = parent.runDir() as string;
    const box = sandbox();
    cleanups.push(box.cleanup);
    const gc = await runCli(['gc'], { ...box.env, TMPDIR: parent.tmp });
    expect(gc.code, gc.stderr).toBe(0);
    expect(gc.stdout).not.toContain(runDir);
    expect([...ranks, ...children].filter(stillRunning)).toEqual([...ranks, ...children]);
    expect(existsSync(runDir)).toBe(true);
    parent.proc.kill('SIGTERM');
    expect(await parent.exit).toEqual([75, null]);
    expect(await waitAllGone([...ranks, ...children])).toEqual([]);
  });

  it("replaces a SIGKILLed watchdog, so that ddprun's SIGKILL afterwards still ends the ranks' children", async () => {
    const pids = pidsDir();
    const parent = await startParent(withChild(pids), 2);
    const { ranks, children } = await rankAndChildPids(pids, 2);
    cleanups.push(() => children.filter(stillRunning).forEach((p) => process.kill(p.pid, 'SIGKILL')));
    const runDir = parent.runDir() as string;
    const ppid = parent.proc.pid as number;
    const [first] = childrenOf(ppid, 'ddprun-watchdog');
    expect(first).toBeGreaterThan(0);
    process.kill(first as number, 'SIGKILL');
    await soon('a new watchdog', () => childrenOf(ppid, 'ddprun-watchdog').some((p) => p !== first), 10_000);
    parent.proc.kill('SIGKILL');
    await parent.exit;
    expect(await waitAllGone([...ranks, ...children])).toEqual([]);
    await soon('the run folder to go', () => !existsSync(runDir), 5000);
  });
});
