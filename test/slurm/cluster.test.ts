import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { SlurmCommandError, SlurmWaitTimeoutError } from '../../src/slurm/errors.js';
import { submitSbatch, waitForJob } from '../../src/slurm/job.js';
import { renderSbatchScript } from '../../src/slurm/sbatch.js';
import { shellQuote } from '../../src/slurm/shell-quote.js';
import { slurmClusterSkipped, useSlurmCluster } from '../helpers/slurm-cluster.js';
import { pidAlive, until, waitGone } from '../helpers/procs.js';

/** A batch script: one `#SBATCH` line per option of `options` (space-separated), then the `commands`. */
function batch(options: string, commands: readonly string[]): string {
  return ['#!/bin/bash', ...options.split(' ').map((option) => `#SBATCH ${option}`), ...commands].join('\n') + '\n';
}

describe.skipIf(slurmClusterSkipped())('a real two-node Slurm cluster', () => {
  const getCluster = useSlurmCluster();
  const submit = (script: string) => submitSbatch(script, { cwd: getCluster().dir, env: getCluster().env });
  /** The job's end, polled every 200 ms; rejects after `timeoutMs`. */
  const jobEnd = (jobId: string, timeoutMs = 60_000) =>
    waitForJob(jobId, { timeoutMs, pollMs: 200, env: getCluster().env });
  const scancel = (jobId: string) =>
    spawnSync('scancel', [jobId], { env: getCluster().env, timeout: 10_000, encoding: 'utf8' });

  it('runs one task on each of the two nodes of an sbatch job', async () => {
    const script = batch('--nodes=2 --ntasks-per-node=1 --time=2 --output=two-nodes-%j.out', [
      'set -euo pipefail',
      `srun --ntasks-per-node=1 bash -c 'echo $SLURM_NODEID $SLURM_NNODES $SLURM_JOB_NODELIST'`,
    ]);
    const { jobId } = await submit(script);
    expect(await jobEnd(jobId)).toEqual({ jobId, state: 'COMPLETED', exitCode: 0, signal: 0, ok: true });
    const lines = readFileSync(join(getCluster().dir, `two-nodes-${jobId}.out`), 'utf8')
      .trim()
      .split('\n')
      .sort();
    expect(lines).toEqual(['0 2 127.0.0.[1-2]', '1 2 127.0.0.[1-2]']);
  });

  it('reports a failing batch script with its exit code', async () => {
    const script = batch('--nodes=1 --time=1 --output=/dev/null', ['srun bash -c "exit 3"']);
    const { jobId } = await submit(script);
    expect(await jobEnd(jobId)).toEqual({ jobId, state: 'FAILED', exitCode: 3, signal: 0, ok: false });
  });

  it('passes every argument of a rendered script through sbatch, bash and srun unchanged', async () => {
    const recordDir = mkdtempSync(join(getCluster().dir, 'jobs', 'record-'));
    const tricky = [
      '--lr',
      '0.1',
      'two words',
      "it's",
      '"double"',
      '$HOME',
      '`id`',
      '$(id)',
      '*',
      '; exit 7',
      'a\nb',
      '',
      '\\n',
      '#x',
    ];
    const script = renderSbatchScript({
      nodes: 2,
      time: '2',
      jobName: 'ddprun "test" #1 \\ $USER',
      output: 'render-%j.out',
      chdir: recordDir,
      sbatchArgs: ['--comment=a b'],
      env: { RECORD_DIR: recordDir, TRICKY: 'x\'$HOME"\n' },
      nodePath: process.execPath,
      ddprunPath: resolve(import.meta.dirname, 'fixtures', 'record-argv.mjs'),
      ddprunArgs: tricky,
    });
    const { jobId } = await submit(script);
    const end = await jobEnd(jobId);
    expect(end.state, readFileSync(join(recordDir, `render-${jobId}.out`), 'utf8')).toBe('COMPLETED');

    const records = [0, 1].map(
      (node) => JSON.parse(readFileSync(join(recordDir, `node-${node}.json`), 'utf8')) as Record<string, unknown>,
    );
    for (const [node, record] of records.entries()) {
      expect(record).toEqual({
        argv: tricky,
        nodeId: String(node),
        nnodes: '2',
        nodelist: '127.0.0.[1-2]',
        stepId: '0',
        tricky: 'x\'$HOME"\n',
        cwd: recordDir,
      });
    }
    const show = spawnSync('scontrol', ['--oneliner', 'show', 'job', jobId], {
      env: getCluster().env,
      encoding: 'utf8',
    }).stdout;
    expect(show).toContain('JobName=ddprun "test" #1 \\ $USER ');
    expect(show).toContain('Comment=a b ');
  });

  it('gives up waiting after timeoutMs and leaves the job running', async () => {
    const script = batch('--nodes=1 --time=1 --output=/dev/null', ['sleep 30']);
    const { jobId } = await submit(script);
    try {
      const error = await waitForJob(jobId, { timeoutMs: 300, pollMs: 100, env: getCluster().env }).catch(
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(SlurmWaitTimeoutError);
      expect((error as SlurmWaitTimeoutError).message).toMatch(
        new RegExp(
          `^Slurm job ${jobId} did not end within 300 ms \\(last state (PENDING|RUNNING|CONFIGURING)\\); it was left running\\.$`,
        ),
      );
    } finally {
      scancel(jobId);
    }
    expect((await jobEnd(jobId, 30_000)).state).toBe('CANCELLED');
  });

  it('ends every task process on both nodes, children included, when the job is cancelled', async () => {
    const pidDir = mkdtempSync(join(getCluster().dir, 'jobs', 'pids-'));
    // Each task ignores SIGTERM and has a child, so only Slurm's SIGKILL after KillWait ends them.
    const task = `trap '' TERM; sleep 300 & echo $$ $! > ${pidDir}/$SLURM_NODEID.pids; wait`;
    const script = batch('--nodes=2 --time=2 --output=/dev/null', [
      `srun --ntasks-per-node=1 --kill-on-bad-exit=1 bash -c ${shellQuote(task)}`,
    ]);
    const { jobId } = await submit(script);
    await until(
      () => `the tasks of job ${jobId} to start\n${getCluster().logs()}`,
      () => readdirSync(pidDir).filter((file) => file.endsWith('.pids')).length === 2,
      { timeoutMs: 30_000, everyMs: 100 },
    );
    await delay(200);
    const pids = readdirSync(pidDir).flatMap((file) =>
      readFileSync(join(pidDir, file), 'utf8').trim().split(' ').map(Number),
    );
    expect(pids).toHaveLength(4);
    expect(pids.filter(pidAlive)).toEqual(pids);

    const cancelled = scancel(jobId);
    expect(cancelled.status, cancelled.stderr).toBe(0);
    expect((await jobEnd(jobId, 30_000)).state).toBe('CANCELLED');
    expect(await waitGone(pids, 15_000)).toEqual([]);
  });

  it('explains why sbatch refused a job', async () => {
    const script = batch('--partition=no-such-partition --output=/dev/null', ['true']);
    const error = await submit(script).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SlurmCommandError);
    expect((error as SlurmCommandError).message).toBe(
      'sbatch refused the job (exit code 1): sbatch: error: invalid partition specified: no-such-partition\n' +
        'sbatch: error: Batch job submission failed: Invalid partition name specified',
    );
  });
});
