import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { CLI, ensureBuilt } from '../cli/helpers.js';

ensureBuilt();

// Each engine's documented contract for pod 1 of a 2-pod job (2 ranks a pod), as the engine sets it: the same launch
// must come out as from the equivalent flags. KUBERNETES_SERVICE_HOST is what the kubelet gives every container.
const TRAINER_CLASS = 'ultralytics.models.yolo.detect.DetectionTrainer';
const POD = { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' };
const FIXTURES: Record<string, { env: Record<string, string>; args: string[]; flags: string[] }> = {
  'an Indexed Job written by ddprun k8s': {
    env: { ...POD, JOB_COMPLETION_INDEX: '1', HOSTNAME: 'yolo-1', DDPRUN_K8S_SERVICE: 'yolo' },
    args: ['--nnodes', '2', '--master-port', '29500'],
    flags: ['--nnodes', '2', '--node-rank', '1', '--master-addr', 'yolo-0.yolo', '--master-port', '29500'],
  },
  'a JobSet written by ddprun k8s --format jobset': {
    env: { ...POD, JOB_COMPLETION_INDEX: '1', HOSTNAME: 'js-node-0-1', DDPRUN_K8S_SERVICE: 'js' },
    args: ['--nnodes', '2', '--master-port', '29500'],
    flags: ['--nnodes', '2', '--node-rank', '1', '--master-addr', 'js-node-0-0.js', '--master-port', '29500'],
  },
  'a Kubeflow TrainJob (PET_*, on a JobSet)': {
    env: {
      ...POD,
      ...{ PET_NNODES: '2', PET_NPROC_PER_NODE: '2', PET_NODE_RANK: '1', PET_MASTER_PORT: '29400' },
      ...{ PET_MASTER_ADDR: 'tj-node-0-0.tj', JOB_COMPLETION_INDEX: '1', HOSTNAME: 'tj-node-0-1' },
    },
    args: [],
    flags: ['--nnodes', '2', '--node-rank', '1', '--master-addr', 'tj-node-0-0.tj', '--master-port', '29400'],
  },
  'a Volcano job (svc and pytorch plugins)': {
    env: {
      ...POD,
      ...{ VC_TASK_INDEX: '0', VC_MASTER_HOSTS: 'vj-master-0.vj', VC_WORKER_HOSTS: 'vj-worker-0.vj' },
      ...{ VC_MASTER_NUM: '1', VC_WORKER_NUM: '1', MASTER_ADDR: 'vj-master-0.vj', MASTER_PORT: '23456' },
      ...{ WORLD_SIZE: '2', RANK: '1', HOSTNAME: 'vj-worker-0' },
    },
    args: [],
    flags: ['--nnodes', '2', '--node-rank', '1', '--master-addr', 'vj-master-0.vj', '--master-port', '23456'],
  },
  'a Volcano job (svc plugin only, one task)': {
    env: { ...POD, VC_TASK_INDEX: '1', VC_WORKER_HOSTS: 'vj-worker-0.vj,vj-worker-1.vj', VC_WORKER_NUM: '2' },
    args: ['--master-port', '23456'],
    flags: ['--nnodes', '2', '--node-rank', '1', '--master-addr', 'vj-worker-0.vj', '--master-port', '23456'],
  },
  'a PyTorchJob v1': {
    env: {
      ...POD,
      MASTER_ADDR: 'pj-master-0',
      MASTER_PORT: '23456',
      WORLD_SIZE: '2',
      RANK: '1',
      PYTHONUNBUFFERED: '0',
    },
    args: [],
    flags: ['--nnodes', '2', '--node-rank', '1', '--master-addr', 'pj-master-0', '--master-port', '23456'],
  },
};

/** An environment with none of the variables an engine sets (this machine's own may have some). */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env))
    if (!/^(PET_|VC_|KUBERNETES_|SLURM_|JOB_COMPLETION_INDEX$|MASTER_|RANK$|WORLD_SIZE$|HOSTNAME$)/.test(key))
      env[key] = value;
  return { ...env, ...extra };
}

interface Plan {
  worldSize: number;
  masterAddr: string;
  masterPort: number;
  notes: string[];
  ranks: { rank: number; localRank: number; env: Record<string, string> }[];
}

function dryRun(args: readonly string[], env: NodeJS.ProcessEnv): Plan {
  const run = spawnSync(
    process.execPath,
    [CLI, '--dry-run', '--json', '--nproc-per-node', '2', ...args, '--no-python', '/bin/true'],
    { encoding: 'utf8', env, timeout: 30_000 },
  );
  expect(run.status, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as Plan;
}

/** What a launch does, without what differs from one run to the next (its temp folder). */
function launch(plan: Plan) {
  return {
    worldSize: plan.worldSize,
    master: `${plan.masterAddr}:${plan.masterPort}`,
    ranks: plan.ranks.map(({ rank, localRank, env }) => {
      const { TORCHELASTIC_ERROR_FILE: _, ...rest } = env;
      return { rank, localRank, env: rest };
    }),
  };
}

describe('ddprun inside a pod reads the engine that started it', () => {
  for (const [name, fixture] of Object.entries(FIXTURES)) {
    it(`${name}: the same launch as the equivalent flags, each value's source named`, () => {
      const fromPod = dryRun(fixture.args, cleanEnv(fixture.env));
      const fromFlags = dryRun(fixture.flags, cleanEnv({}));
      expect(launch(fromPod)).toEqual(launch(fromFlags));
      // The pod-level RANK/WORLD_SIZE are never a rank's own: ranks 2 and 3 of 4.
      expect(fromPod.ranks.map((r) => [r.env.RANK, r.env.WORLD_SIZE])).toEqual([
        ['2', '4'],
        ['3', '4'],
      ]);
      expect(fromPod.notes.join('\n')).toMatch(/node.rank|NODE_RANK/i);
    });
  }

  it('`ddprun train` in a TrainJob pod reads PET_* too (torchrun reads them; the trainer launch did not)', () => {
    const train = (args: readonly string[], env: NodeJS.ProcessEnv): Plan => {
      const run = spawnSync(
        process.execPath,
        [CLI, 'train', '--dry-run', '--json', '--nproc-per-node', '2', ...args, TRAINER_CLASS, 'device=cpu'],
        { encoding: 'utf8', env, timeout: 60_000 },
      );
      expect(run.status, run.stderr).toBe(0);
      return JSON.parse(run.stdout) as Plan;
    };
    const { DDPRUN_K8S_SERVICE: _, ...env } = FIXTURES['a Kubeflow TrainJob (PET_*, on a JobSet)']!.env;
    const fromPod = train([], cleanEnv(env));
    expect(launch(fromPod)).toEqual(
      launch(train(FIXTURES['a Kubeflow TrainJob (PET_*, on a JobSet)']!.flags, cleanEnv({}))),
    );
    expect(fromPod.notes).toContain('  --master-addr tj-node-0-0.tj from PET_MASTER_ADDR');
  });

  it('names the source of each value on --dry-run', () => {
    const run = spawnSync(
      process.execPath,
      [CLI, '--dry-run', '--nproc-per-node', '2', ...FIXTURES['a PyTorchJob v1']!.args, '--no-python', '/bin/true'],
      { encoding: 'utf8', env: cleanEnv(FIXTURES['a PyTorchJob v1']!.env), timeout: 30_000 },
    );
    expect(run.stdout).toContain("kubernetes: this pod's engine is PyTorchJob");
    expect(run.stdout).toContain('--nnodes 2 from WORLD_SIZE (pods)');
    expect(run.stdout).toContain('--node-rank 1 from RANK (the pod)');
    expect(run.stdout).toContain('--master-addr pj-master-0 from MASTER_ADDR');
    expect(run.stdout).toContain('--master-port 23456 from MASTER_PORT');
  });

  it('reads nothing outside Kubernetes: MASTER_ADDR/RANK/WORLD_SIZE alone change no flag', () => {
    const { KUBERNETES_SERVICE_HOST: _, ...env } = FIXTURES['a PyTorchJob v1']!.env;
    const plan = dryRun([], cleanEnv(env));
    expect(plan.worldSize).toBe(2);
    expect(plan.masterAddr).toBe('127.0.0.1');
  });

  it.each([
    [{ JOB_COMPLETION_INDEX: 'x' }, 'JOB_COMPLETION_INDEX'],
    [{ JOB_COMPLETION_INDEX: '1', HOSTNAME: 'other', DDPRUN_K8S_SERVICE: 'yolo' }, 'HOSTNAME'],
  ])('refuses an unusable engine variable %j with exit 2 naming it', (vars, named) => {
    const run = spawnSync(
      process.execPath,
      [CLI, '--dry-run', '--nnodes', '2', '--nproc-per-node', '2', '--no-python', '/bin/true'],
      { encoding: 'utf8', env: cleanEnv({ ...POD, ...vars }), timeout: 30_000 },
    );
    expect(run.status).toBe(2);
    expect(run.stderr).toContain(named === 'HOSTNAME' ? 'is not <job>-1' : named);
  });
});
