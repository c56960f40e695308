import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { CLI, listFiles, runCli, useSandboxes, type Sandbox } from '../cli/helpers.js';
import { torchPython } from '../helpers/python.js';
import { fixture } from './helpers.js';

// Issue #29 item 3: the failures explained from real processes — a real /dev/shm filled by DataLoader workers, a
// script under an inherited RANK, a trainer class defined in `__main__`.

const box = useSandboxes();
const python = await torchPython();

/** Whether this process may mount a tmpfs in a private mount namespace (root, util-linux unshare). */
function canMountPrivately(): boolean {
  const probe = spawnSync('unshare', ['--mount', '--propagation', 'private', 'mount', '-t', 'tmpfs', 'tmpfs', '/mnt']);
  if (probe.status === 0) return true;
  if (process.env.CI) throw new Error(`unshare --mount cannot mount a tmpfs here: ${String(probe.stderr)}`);
  return false;
}
const mounts = canMountPrivately();

/** Runs the CLI in a private mount namespace whose /dev/shm is a 1 MiB tmpfs; the mount vanishes with the process. */
function withTinyShm(args: string[], s: Sandbox) {
  const setup = 'mount -t tmpfs -o size=1m tmpfs /dev/shm';
  const run = spawnSync(
    'unshare',
    ['--mount', '--propagation', 'private', 'sh', '-c', `${setup} && exec "$@"`, 'sh', process.execPath, CLI, ...args],
    { env: s.env, cwd: s.out, encoding: 'utf8', timeout: 240_000 },
  );
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe.skipIf(!mounts || !python)('shm: DataLoader workers and a small /dev/shm', () => {
  it('explains workers dying of a full 1 MiB /dev/shm, with its size and the Docker and Kubernetes fixes', () => {
    const s = box();
    const run = withTinyShm(['--python', python!, fixture('shm_loader.py')], s);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('is killed by signal: Bus error');
    expect(run.stderr).toContain(
      "  shm: Rank 0's DataLoader workers ran out of shared memory: /dev/shm is 1.0 MB here (1.0 MB free now).\n",
    );
    const hint = /^ {2}hint: (.*)$/m.exec(run.stderr.slice(run.stderr.indexOf('  shm: ')))?.[1];
    expect(hint).toContain('Docker `--shm-size=8g` (or `--ipc=host`)');
    expect(hint).toContain('`emptyDir: {medium: Memory, sizeLimit: 8Gi}` volume mounted at /dev/shm');
  }, 240_000);

  it('doctor warns about a 1 MiB /dev/shm and names the fixes', () => {
    const s = box();
    const run = withTinyShm(['doctor'], s);
    expect(run.stdout).toMatch(
      /^\/dev\/shm +warn +1\.0 MB \(1\.0 MB free\): small, DataLoader workers fail with a bus error once it is full \(Docker: --shm-size=8g or --ipc=host; Kubernetes: an emptyDir with medium: Memory at \/dev\/shm\)$/m,
    );
  }, 120_000);

  it('doctor says ok for a /dev/shm of 1 GiB or more', () => {
    const s = box();
    const run = spawnSync(
      'unshare',
      [
        ...['--mount', '--propagation', 'private', 'sh', '-c', 'mount -t tmpfs -o size=2g tmpfs /dev/shm && exec "$@"'],
        ...['sh', process.execPath, CLI, 'doctor'],
      ],
      { env: s.env, cwd: s.out, encoding: 'utf8', timeout: 120_000 },
    );
    expect(run.stdout).toMatch(/^\/dev\/shm +ok +2\.1 GB \(2\.1 GB free\)$/m);
  }, 120_000);
});

describe.skipIf(!python)('stray-rank-env', () => {
  it('warns once about RANK, WORLD_SIZE, LOCAL_RANK and MASTER_ADDR left in the shell; each rank gets its own', async () => {
    const s = box();
    const env = { ...s.env, RANK: '0', WORLD_SIZE: '1', LOCAL_RANK: '3', MASTER_ADDR: '10.9.9.9' };
    const run = await runCli(['--nproc-per-node', '2', '--python', python!, fixture('rank_env.py')], {
      env,
      cwd: s.out,
    });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('[rank0]:RANK=0 WORLD_SIZE=2 LOCAL_RANK=0 MASTER_ADDR=127.0.0.1\n');
    expect(run.stdout).toContain('[rank1]:RANK=1 WORLD_SIZE=2 LOCAL_RANK=1 MASTER_ADDR=127.0.0.1\n');
    const warnings = run.stderr.split('\n').filter((line) => line.includes('stray-rank-env'));
    expect(warnings).toEqual([
      "ddprun: warning: stray-rank-env: RANK=0, WORLD_SIZE=1, LOCAL_RANK=3, MASTER_ADDR=10.9.9.9 reached ddprun (left in the shell, or set by an outer launcher): ddprun ignored them and gave each rank its own (RANK 0–1, WORLD_SIZE 2, LOCAL_RANK 0–1, MASTER_ADDR 127.0.0.1). `unset RANK WORLD_SIZE LOCAL_RANK MASTER_ADDR` to silence this; the job's shape comes from --nproc-per-node, --nnodes, --node-rank and --master-addr.",
    ]);
  }, 120_000);

  it('says nothing when none of them is set', async () => {
    const s = box();
    const env = { ...s.env };
    for (const name of ['RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_ADDR']) delete env[name];
    const run = await runCli(['--nproc-per-node', '2', '--python', python!, fixture('rank_env.py')], {
      env,
      cwd: s.out,
    });
    expect(run.code).toBe(0);
    expect(run.stderr).not.toContain('stray-rank-env');
  }, 120_000);
});

describe('a trainer class defined in __main__', () => {
  it('is refused with exit 2 and the fix, before anything is written or started', async () => {
    const s = box();
    const run = await runCli(['train', '__main__.MyTrainer', 'epochs=1'], { env: s.env, cwd: s.out });
    expect({ code: run.code, stdout: run.stdout, stderr: run.stderr }).toEqual({
      code: 2,
      stdout: '',
      stderr:
        "error: The trainer `__main__.MyTrainer` is defined in the script that was run (`__main__`), which the ranks cannot import: each rank runs ddprun's entry file, and that file is their `__main__`. Move the class into a module (e.g. my_trainer.py in the launch directory) and name it by that module: `ddprun train my_trainer.MyTrainer`.\n",
    });
    expect(listFiles(s.dir)).toEqual([]);
  }, 60_000);
});
