import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, FIXTURES, ensureBuilt, startCli, type CliRun } from '../cli/helpers.js';
import { slurmClusterSkipped, useSlurmCluster } from '../helpers/slurm-cluster.js';
import { pidAlive, until, waitGone } from '../helpers/procs.js';

const FIXTURE = join(FIXTURES, 'slurm_allreduce.py');
/** Every `ddprun slurm --wait` is bounded twice: by --wait-timeout, and by this kill of the CLI itself. */
const CLI_LIMIT_MS = 150_000;
// Short rendezvous and grace periods: a broken job fails in a minute, not in 15.
const LAUNCH_FLAGS = ['--nproc-per-node', '2', '--rdzv-timeout', '60', '--grace-period', '2'];
/** `ddprun slurm` of the fixture on 2 nodes for 5 minutes at most, waiting (2 minutes at most) for the job's end. */
const WAITED_JOB = ['--nodes', '2', '--time', '5', '--wait', '--wait-timeout', '120', ...LAUNCH_FLAGS, FIXTURE];

describe.skipIf(slurmClusterSkipped())('ddprun slurm on a real two-node Slurm cluster', () => {
  const getCluster = useSlurmCluster(ensureBuilt);

  /** `ddprun slurm …` in a fresh directory of the cluster; killed if it outlives CLI_LIMIT_MS. */
  function ddprunSlurm(args: readonly string[]): {
    cwd: string;
    started: number;
    done: Promise<CliRun>;
    child: ReturnType<typeof startCli>['child'];
  } {
    const cwd = mkdtempSync(join(getCluster().dir, 'jobs', 'cli-'));
    const started = Date.now();
    const { child, done } = startCli(['slurm', ...args], { env: getCluster().env, cwd });
    const timer = setTimeout(() => child.kill('SIGKILL'), CLI_LIMIT_MS);
    return { cwd, started, child, done: done.finally(() => clearTimeout(timer)) };
  }

  function explain(run: CliRun): string {
    return `exit ${run.code ?? run.signal}\n--- stdout\n${run.stdout}\n--- stderr\n${run.stderr}\n--- cluster\n${getCluster().logs()}`;
  }

  it('prints the script with --dry-run and submits nothing', async () => {
    const { done } = ddprunSlurm(['--nodes', '2', '--dry-run', ...LAUNCH_FLAGS, FIXTURE, 'ok']);
    const run = await done;
    expect(run.code, explain(run)).toBe(0);
    expect(run.stdout).toContain(
      `srun --ntasks-per-node=1 --kill-on-bad-exit=1 ${process.execPath} ${CLI} ${LAUNCH_FLAGS.join(' ')} ${FIXTURE} ok\n`,
    );
    const queue = spawnSync('squeue', ['--noheader', '--format=%i %j'], {
      env: getCluster().env,
      timeout: 10_000,
      encoding: 'utf8',
    });
    expect(queue.stdout.trim()).toBe('');
  });

  it('runs a 2 nodes × 2 ranks gloo all-reduce with --wait and exits 0', async () => {
    const { cwd, started, done } = ddprunSlurm([...WAITED_JOB, 'ok']);
    const run = await done;
    const seconds = (Date.now() - started) / 1000;
    console.log(`ddprun slurm --wait (2 nodes x 2 ranks, gloo all-reduce): ${seconds.toFixed(2)} s from start to exit`);
    expect(run.code, explain(run)).toBe(0);

    const jobId = /^Submitted batch job (\d+)$/m.exec(run.stdout)?.[1];
    expect(jobId, explain(run)).toBeDefined();
    const outputFile = join(cwd, `ddprun-${jobId}.out`);
    expect(run.stderr).toContain(`Output: ${outputFile}`);
    expect(run.stderr).toMatch(new RegExp(`Slurm job ${jobId} COMPLETED with exit code 0 after `));

    // --wait printed the job's output file; it holds one line per rank.
    const results = [
      ...run.stdout.matchAll(
        /allreduce rank=(\d+) local_rank=(\d+) group_rank=(\d+) world=(\d+) sum=(\d+) host=\S+ slurm_nodeid=(\d*) ifname=(\S*)/g,
      ),
    ].map((m) => ({
      rank: Number(m[1]),
      localRank: Number(m[2]),
      groupRank: Number(m[3]),
      world: Number(m[4]),
      sum: Number(m[5]),
      slurmNodeId: m[6],
      ifname: m[7],
    }));
    expect(readFileSync(outputFile, 'utf8')).toContain('allreduce rank=');
    results.sort((a, b) => a.rank - b.rank);
    expect(results, explain(run)).toEqual([
      { rank: 0, localRank: 0, groupRank: 0, world: 4, sum: 10, slurmNodeId: '0', ifname: 'lo' },
      { rank: 1, localRank: 1, groupRank: 0, world: 4, sum: 10, slurmNodeId: '0', ifname: 'lo' },
      { rank: 2, localRank: 0, groupRank: 1, world: 4, sum: 10, slurmNodeId: '1', ifname: 'lo' },
      { rank: 3, localRank: 1, groupRank: 1, world: 4, sum: 10, slurmNodeId: '1', ifname: 'lo' },
    ]);
  });

  it('exits non-zero when one rank fails', async () => {
    const { done } = ddprunSlurm([...WAITED_JOB, 'fail']);
    const run = await done;
    // The job's exit code is srun's: the highest of its tasks', so 3 (node 1's ddprun, whose rank failed)
    // or node 0's ddprun, stopped by srun --kill-on-bad-exit with a SIGTERM to every process of the step: 143 when its
    // ranks' death of it comes first (a failure), 75 when ddprun's own SIGTERM does (from outside, so preempted).
    expect(run.code, explain(run)).not.toBe(0);
    expect([3, 75, 143], explain(run)).toContain(run.code);
    expect(run.stderr).toMatch(new RegExp(`Slurm job \\d+ FAILED with exit code ${run.code} after `));
    expect(run.stdout).toMatch(/Root cause: rank 3 \(local rank 1, .*\) failed with exit code 3/);
  });

  it('leaves no rank process behind when the job is cancelled', async () => {
    const pidDir = mkdtempSync(join(getCluster().dir, 'jobs', 'pids-'));
    const { done, child } = ddprunSlurm([...WAITED_JOB, 'sleep', pidDir]);
    let stdout = '';
    child.stdout?.on('data', (chunk: string) => (stdout += chunk));
    const pidFiles = () => readdirSync(pidDir).filter((file) => file.endsWith('.pid'));
    const ranksStarted = () => pidFiles().length === 4;
    const started = await until(
      'the 4 ranks to start, or ddprun slurm to exit',
      () => ranksStarted() || child.exitCode !== null,
      {
        everyMs: 100,
      },
    ).then(ranksStarted, () => false);
    if (!started) {
      child.kill('SIGKILL');
      throw new Error(`The 4 ranks did not start within 60 s.\n${explain(await done)}`);
    }
    const pids = pidFiles().map((file) => Number(readFileSync(join(pidDir, file), 'utf8')));
    expect(pids.filter(pidAlive)).toEqual(pids);

    const jobId = /Submitted batch job (\d+)/.exec(stdout)?.[1] as string;
    const scancel = spawnSync('scancel', [jobId], { env: getCluster().env, timeout: 10_000, encoding: 'utf8' });
    expect(scancel.status, scancel.stderr).toBe(0);
    const run = await done;
    expect(run.code, explain(run)).not.toBe(0);
    expect(run.stderr).toMatch(new RegExp(`Slurm job ${jobId} CANCELLED`));
    expect(await waitGone(pids, 20_000)).toEqual([]);
  });
});
