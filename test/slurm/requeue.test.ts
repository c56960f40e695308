import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ensureBuilt, runCli } from '../cli/helpers.js';
import { slurmClusterSkipped, useSlurmCluster } from '../helpers/slurm-cluster.js';
import { until } from '../helpers/procs.js';
import { STANDIN_TRAINER, epochsOf, standinEnv } from '../helpers/standin.js';
import { getRun, listRuns } from '../../src/store/read.js';

// `ddprun slurm --requeue --signal-before N train …` on the real two-node cluster: Slurm's warning (sent here with
// `scancel --signal=USR1`, which reaches every step's tasks as `--signal=USR1@N` does) stops the stand-in trainer
// leader-first as `preempted`, node 0's ddprun requeues the job, and the requeued job resumes from last.pt.

/** `scontrol show job N`'s KEY=VALUE fields. */
function jobFields(env: NodeJS.ProcessEnv, jobId: string): Record<string, string> {
  const shown = spawnSync('scontrol', ['show', 'job', jobId], { env, timeout: 10_000, encoding: 'utf8' });
  return Object.fromEntries([...shown.stdout.matchAll(/(\w+)=(\S*)/g)].map((m) => [m[1]!, m[2]!]));
}

describe.skipIf(slurmClusterSkipped())('ddprun slurm --requeue on a real Slurm cluster', () => {
  const getCluster = useSlurmCluster(ensureBuilt);

  it("is requeued on Slurm's warning, and its second run resumes at the recorded epoch: one run folder, every epoch", async () => {
    const cluster = getCluster();
    const cwd = mkdtempSync(join(cluster.dir, 'jobs', 'requeue-'));
    const state = join(cwd, 'state');
    const dir = join(cwd, 'runs', 'exp');
    // 6 epochs of about 2 s each: the warning comes after the first, the requeued job does the rest.
    const env = standinEnv({ ...cluster.env, DDPRUN_STATE_DIR: state }, '0.2');
    const args = ['slurm', '--nodes', '1', '--time', '10', '--requeue', '--signal-before', '300'];
    const train = ['train', '--nproc-per-node', '2', '--grace-period', '30', STANDIN_TRAINER];
    const trainArgs = ['epochs=6', 'device=cpu', `project=${join(cwd, 'runs')}`, 'name=exp'];
    const submitted = await runCli([...args, ...train, ...trainArgs], { env, cwd });
    expect(submitted.code, submitted.stderr).toBe(0);
    const jobId = /Submitted batch job (\d+)/.exec(submitted.stdout)?.[1] as string;
    const explain = () => {
      const out = join(cwd, `ddprun-${jobId}.out`);
      return `--- job output\n${existsSync(out) ? readFileSync(out, 'utf8') : '(none)'}\n--- cluster\n${cluster.logs()}`;
    };

    await until('epoch 1 in results.csv', () => existsSync(join(dir, 'results.csv')) && epochsOf(dir).length >= 1, {
      timeoutMs: 180_000,
    }).catch((error: Error) => {
      throw new Error(`${error.message}\n${explain()}`);
    });
    const warned = spawnSync('scancel', ['--signal=USR1', jobId], { env, timeout: 10_000, encoding: 'utf8' });
    expect(warned.status, warned.stderr).toBe(0);

    await until(
      'the requeued job to complete',
      () => {
        const job = jobFields(env, jobId);
        return job.Restarts === '1' && job.JobState === 'COMPLETED';
      },
      { timeoutMs: 400_000, everyMs: 1000 },
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n${JSON.stringify(jobFields(env, jobId))}\n${explain()}`);
    });
    const output = readFileSync(join(cwd, `ddprun-${jobId}.out`), 'utf8');
    console.log(`--- ddprun-${jobId}.out\n${output}`);

    // One run folder, every epoch once.
    expect(readdirSync(join(cwd, 'runs'))).toEqual(['exp']);
    expect(epochsOf(dir), explain()).toEqual([1, 2, 3, 4, 5, 6]);
    // The first run is preempted by the warning; the second resumes it, linked to it.
    const [second, first] = listRuns({ stateDir: state, all: true });
    expect(first).toMatchObject({ status: 'preempted', exitCode: 75, signal: 'SIGUSR1' });
    expect(first!.slurm).toEqual({ jobId, restartCount: 0, nodeId: 0 });
    // Slurm signals every process of the step, but the ranks ignore the warning: ddprun alone acts on it, and its
    // ranks got --stop-signal (SIGTERM, which kills the stand-in) from it, not the warning's SIGUSR1.
    expect(first!.result!.ranks.map((r) => r.signal)).toEqual(['SIGTERM', 'SIGTERM']);
    expect(second).toMatchObject({ status: 'succeeded', slurm: { jobId, restartCount: 1, nodeId: 0 } });
    const resumedFrom = getRun(second!.id, { stateDir: state }).resumedFrom!;
    expect(resumedFrom).toMatchObject({ id: first!.id, checkpoint: join(dir, 'weights', 'last.pt') });
    expect(output).toContain(
      `Resuming training ${join(dir, 'weights', 'last.pt')} from epoch ${resumedFrom.epoch! + 1}`,
    );
    expect(output).toContain(`requeued Slurm job ${jobId}`);
    const ps = await runCli(['ps', '--all'], { env, cwd });
    expect(ps.stdout).toMatch(new RegExp(`${first!.id}.*preempted`));
    expect(ps.stdout).toContain(`(resumes ${first!.id})`);
  }, 600_000);
});
