import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { runCli, startCli, useSandboxes, type Sandbox } from '../cli/helpers.js';
import { launchFixture, readyRanks, startLauncher, useCleanups } from '../helpers/launch.js';
import { readPids, until, waitGone } from '../helpers/procs.js';
import { torchPython } from '../helpers/python.js';
import { browserMissing, launchBrowser, watchedPage } from '../ui/browser.js';
import { startDashboard } from '../../src/ui/server.js';
import { listRuns } from '../../src/store/read.js';

// A stop from outside (a SIGTERM no `ddprun stop` sent, the scheduler's warning signal) is `preempted`, exit 75;
// `ddprun stop` and Ctrl-C stay `stopped`. Real launchers, real ranks, the real store, the dashboard in Chromium.

const python = await torchPython();
const box = useSandboxes();
const { cleanups } = useCleanups();
const noBrowser = browserMissing();

/** The sandbox's env without a scheduler around it (the tests may run inside a Slurm job or a pod). */
function plainEnv(s: Sandbox, more: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...s.env, ...more };
  for (const name of ['SLURM_JOB_ID', 'KUBERNETES_SERVICE_HOST', 'DDPRUN_PREEMPT_SIGNAL'])
    if (!(name in more)) delete env[name];
  return env;
}

/** `ddprun` running 2 sleeping ranks in the sandbox's store; resolves once both are up. */
async function startRun(s: Sandbox, env: NodeJS.ProcessEnv) {
  const run = startCli(['--nproc-per-node', '2', '--grace-period', '10', launchFixture('sleeper.py'), s.out], { env });
  cleanups.push(() => run.child.kill('SIGKILL'));
  await until('both ranks to be ready', () => readPids(s.out).length === 2);
  const [record] = listRuns({ stateDir: s.state });
  return { run, pids: readPids(s.out), id: record!.id };
}

async function showJson(s: Sandbox, id: string): Promise<Record<string, unknown>> {
  const show = await runCli(['show', '--json', id], { env: s.env });
  expect(show.code, show.stderr).toBe(0);
  return JSON.parse(show.stdout) as Record<string, unknown>;
}

describe.skipIf(!python)('preempted: a stop from outside', () => {
  it('SIGTERM to ddprun: exit 75, `preempted` in ps, ps --all and show --json, with the signal and the sender', async () => {
    const s = box();
    const { run, pids, id } = await startRun(s, plainEnv(s));
    run.child.kill('SIGTERM');
    const end = await run.done;
    expect(end.code, end.stderr).toBe(75);
    expect(end.stderr).toContain('preempted by a process outside ddprun');
    expect(end.stderr).toContain(`run ${id} preempted by SIGTERM`);
    expect(await waitGone(pids, 5000)).toEqual([]);
    const ps = await runCli(['ps', '--all'], { env: s.env });
    expect(ps.stdout).toMatch(new RegExp(`${id}.*preempted`));
    const record = await showJson(s, id);
    expect(record).toMatchObject({ status: 'preempted', exitCode: 75, signal: 'SIGTERM' });
    expect((record.result as { preempted: unknown }).preempted).toEqual({
      signal: 'SIGTERM',
      sender: 'a process outside ddprun (Node cannot tell which: a signal handler gets no sender pid)',
    });
    const show = await runCli(['show', id], { env: s.env });
    expect(show.stdout).toContain('preempted by SIGTERM from a process outside ddprun');
  });

  it("`ddprun stop` sends the same SIGTERM but is a person's stop: `stopped`, exit 143", async () => {
    const s = box();
    const { run, id } = await startRun(s, plainEnv(s));
    const stop = await runCli(['stop', id], { env: s.env });
    expect(stop.code, stop.stderr).toBe(0);
    const end = await run.done;
    expect(end.code).toBe(143);
    expect(await showJson(s, id)).toMatchObject({ status: 'stopped', exitCode: 143, signal: 'SIGTERM' });
  });

  it("Ctrl-C (SIGINT) is a person's stop too: `stopped`, exit 130", async () => {
    const s = box();
    const { run, id } = await startRun(s, plainEnv(s));
    run.child.kill('SIGINT');
    expect((await run.done).code).toBe(130);
    expect((await showJson(s, id)).status).toBe('stopped');
  });

  it("Slurm's warning signal (DDPRUN_PREEMPT_SIGNAL=SIGUSR1 in a job): preempted, the sender named from the job", async () => {
    const s = box();
    const env = plainEnv(s, { SLURM_JOB_ID: '4242', DDPRUN_PREEMPT_SIGNAL: 'SIGUSR1' });
    const { run, pids, id } = await startRun(s, env);
    // Slurm signals every process of the step: the ranks ignore the warning (SIGUSR1 would kill a Python process).
    for (const pid of pids) process.kill(pid, 'SIGUSR1');
    run.child.kill('SIGUSR1');
    const end = await run.done;
    expect(end.code, end.stderr).toBe(75);
    expect(await waitGone(pids, 5000)).toEqual([]);
    const record = await showJson(s, id);
    expect(record).toMatchObject({ status: 'preempted', signal: 'SIGUSR1' });
    // The ranks ended by ddprun's leader-first stop (SIGTERM), not by the warning.
    expect((record.result as { ranks: { signal: string | null }[] }).ranks.map((r) => r.signal)).not.toContain(
      'SIGUSR1',
    );
    expect((record.result as { preempted: unknown }).preempted).toEqual({
      signal: 'SIGUSR1',
      sender: "Slurm's warning before the end of job 4242 (--signal)",
    });
  });

  it("the library's result: `preempted` with the signal and the sender, exitCode 75", async () => {
    const s = box();
    const launcher = startLauncher(
      { entry: { script: launchFixture('sleeper.py'), args: [s.out] }, nprocPerNode: 2, gracePeriodMs: 10_000 },
      cleanups,
      plainEnv(s, { KUBERNETES_SERVICE_HOST: '10.0.0.1', HOSTNAME: 'trainer-0' }),
    );
    await until('both ranks to be ready', () => readyRanks(launcher) >= 2);
    launcher.proc.kill('SIGTERM');
    expect((await launcher.exit)[0]).toBe(75);
    expect(launcher.output()).toContain(
      'result {"exitCode":75,"signal":"SIGTERM","preempted":{"signal":"SIGTERM","sender":"Kubernetes (the pod trainer-0 is terminating)"}}',
    );
  });

  describe.skipIf(noBrowser)('the dashboard (Chromium)', () => {
    let browser: Browser;
    beforeAll(async () => {
      browser = await launchBrowser();
    });
    afterAll(async () => {
      await browser?.close();
    });

    it('shows a preempted run as `preempted`, filters by it, and names the signal and the sender', async () => {
      const s = box();
      const { run, id } = await startRun(s, plainEnv(s));
      run.child.kill('SIGTERM');
      expect((await run.done).code).toBe(75);
      const dashboard = await startDashboard({ stateDir: s.state, port: 0 });
      cleanups.push(() => dashboard.close());
      const { page, incidents } = await watchedPage(browser);
      await page.goto(dashboard.url);
      await page.waitForSelector(`[data-run="${id}"]`);
      await page.selectOption('[data-testid="filter"]', 'preempted');
      expect(await page.textContent(`[data-run="${id}"] [data-testid="status"]`)).toBe('preempted');
      await page.click(`[data-run="${id}"] a`);
      await page.waitForFunction(() => document.querySelector('[data-testid="status"]')?.textContent === 'preempted');
      expect(await page.textContent('.meta')).toContain(
        'preemptedSIGTERM from a process outside ddprun (Node cannot tell which',
      );
      expect(incidents).toEqual([]);
      await page.close();
    });
  });
});
