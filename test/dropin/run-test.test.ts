// PyTorch's launcher tests (test/distributed/launcher/test_run.py in torch 2.x, run_test.py in 1.13) with `ddprun`
// where `torchrun` stands: each command line exactly as the PyTorch test writes it, asserting what it asserts.
// Only the cases that need no mocking of torch internals are here; bin/ holds this project's own rank scripts,
// written in the spirit of PyTorch's (touch a file named by the global rank, check is_torchelastic_launched(), …).
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, runCli, sandbox, startCli, type Sandbox } from '../cli/helpers.js';
import { torchPython, TORCH_SKIP_REASON } from '../helpers/python.js';
import { findFreeNetworkPort } from '../../src/launch/resolve/port.js';

const BIN = path.join(path.dirname(fileURLToPath(import.meta.url)), 'bin');
const bin = (script: string) => path.join(BIN, script);
const TIMEOUT = 240_000;

const python = await torchPython();
const run = python ? describe : describe.skip;
if (!python) console.warn(`test/dropin: ${TORCH_SKIP_REASON}`);

let box: Sandbox;
let testDir: string;
let env: NodeJS.ProcessEnv;

beforeAll(() => ensureBuilt());

function setUp(): void {
  box = sandbox();
  testDir = mkdtempSync(path.join(box.dir, 'test_dir-'));
  env = { ...box.env, TEST_SENTINEL_PARENT: 'FOOBAR' };
  for (const key of Object.keys(env)) if (key.startsWith('PET_')) delete env[key];
}

afterEach(() => box?.cleanup());

/** `{str(i) for i in range(world_size)}`. */
const ranks = (worldSize: number) => Array.from({ length: worldSize }, (_, i) => String(i)).sort();
const listed = () => readdirSync(testDir).sort();

async function ddprun(args: string[], extraEnv: NodeJS.ProcessEnv = {}) {
  return runCli(args, { env: { ...env, ...extraEnv } });
}

async function mustPass(args: string[], extraEnv: NodeJS.ProcessEnv = {}) {
  const result = await ddprun(args, extraEnv);
  if (result.code !== 0) throw new Error(`exit ${result.code}\n${result.stdout}\n${result.stderr}`);
  return result;
}

run('PyTorch test_run.py / run_test.py with ddprun in place of torchrun', () => {
  it(
    'test_launch_user_script_python',
    async () => {
      setUp();
      const runId = String(BigInt(`0x${Math.random().toString(16).slice(2, 14)}`));
      await mustPass([
        '--nnodes=1',
        '--nproc-per-node=4',
        `--rdzv-id=${runId}`,
        '--monitor-interval=1',
        '--start-method=spawn',
        bin('test_script.py'),
        `--touch-file-dir=${testDir}`,
      ]);
      expect(listed()).toEqual(ranks(4));
    },
    TIMEOUT,
  );

  it(
    'test_launch_user_script_python_caffe2_bc (2.x dash spellings and 1.13 underscore spellings)',
    async () => {
      for (const [dash, flags] of [
        [true, ['--nproc-per-node=4', '--monitor-interval=1', '--start-method=spawn', '--master-addr=localhost']],
        [false, ['--nproc_per_node=4', '--monitor_interval=1', '--start_method=spawn', '--master_addr=localhost']],
      ] as const) {
        setUp();
        const port = await findFreeNetworkPort();
        await mustPass([
          '--nnodes=1',
          ...flags,
          dash ? `--master-port=${port}` : `--master_port=${port}`,
          dash ? '--node-rank=0' : '--node_rank=0',
          bin('test_script.py'),
          `--touch-file-dir=${testDir}`,
        ]);
        expect(listed()).toEqual(ranks(4));
        box.cleanup();
      }
    },
    TIMEOUT,
  );

  it(
    'test_launch_user_script_bash (and --module with --no-python is refused)',
    async () => {
      setUp();
      const args = ['--nnodes=1', '--nproc-per-node=4', '--rdzv-id=42', '--monitor-interval=1', '--start-method=spawn'];
      const scriptArgs = [bin('test_script.sh'), testDir];
      const refused = await ddprun([...args, '--no-python', '--module', ...scriptArgs]);
      expect(refused.code).toBe(2); // torchrun: ValueError
      expect(listed()).toEqual([]);
      await mustPass([...args, '--no-python', ...scriptArgs]);
      expect(listed()).toEqual(ranks(4));
    },
    TIMEOUT,
  );

  it(
    'test_launch_user_script_default_nproc',
    async () => {
      setUp();
      await mustPass([
        '--nnodes=1',
        '--rdzv-id=7',
        '--monitor-interval=1',
        '--start-method=spawn',
        '--no-python',
        bin('test_script.sh'),
        testDir,
      ]);
      expect(listed()).toEqual(ranks(1));
    },
    TIMEOUT,
  );

  it(
    'test_launch_with_env_vars (PET_*; PET_MODULE=1 with PET_NO_PYTHON=1 is refused)',
    async () => {
      setUp();
      const pet = {
        PET_NNODES: '1',
        PET_NPROC_PER_NODE: '4',
        PET_RDZV_ID: '1234',
        PET_MONITOR_INTERVAL: '1',
        PET_START_METHOD: 'spawn',
        PET_NO_PYTHON: '1',
      };
      const scriptArgs = [bin('test_script.sh'), testDir];
      const refused = await ddprun(scriptArgs, { ...pet, PET_MODULE: '1' });
      expect(refused.code).toBe(2);
      await mustPass(scriptArgs, { ...pet, PET_MODULE: '0' });
      expect(listed()).toEqual(ranks(4));
    },
    TIMEOUT,
  );

  const nproc = async (nprocType: string, expected: number) => {
    setUp();
    await mustPass([
      '--nnodes=1',
      `--nproc-per-node=${nprocType}`,
      '--rdzv-id=5',
      '--monitor-interval=1',
      '--start-method=spawn',
      '--no-python',
      bin('test_script.sh'),
      testDir,
    ]);
    expect(listed()).toEqual(ranks(expected));
  };

  it(
    'test_nproc_launch_auto_configurations (no CUDA here: the CPU count)',
    () => nproc('auto', os.availableParallelism()),
    TIMEOUT,
  );
  it('test_nproc_launch_number_configurations', () => nproc('4', 4), TIMEOUT);
  it(
    'test_nproc_launch_unknown_configurations',
    async () => {
      await expect(nproc('unknown', 4)).rejects.toThrow(/exit 2/);
      expect(listed()).toEqual([]);
    },
    TIMEOUT,
  );

  it(
    'test_launch_elastic (one agent of --nnodes=1:2, c10d)',
    async () => {
      setUp();
      const result = await mustPass([
        '--nnodes=1:2',
        '--nproc-per-node=4',
        '--rdzv-backend=c10d',
        `--rdzv-endpoint=localhost:${await findFreeNetworkPort()}`,
        "--rdzv-conf='join_timeout=5,last_call_timeout=1,timeout=5'",
        '--rdzv-id=99',
        '--monitor-interval=1',
        '--start-method=spawn',
        bin('test_script.py'),
        `--touch-file-dir=${testDir}`,
      ]);
      expect(listed()).toEqual(ranks(4));
      expect(result.stderr + result.stdout).not.toMatch(/Traceback/);
    },
    TIMEOUT,
  );

  it(
    'test_launch_elastic_worker_raise_exception (the launch fails)',
    async () => {
      setUp();
      const result = await ddprun([
        '--nnodes=1:2',
        '--nproc-per-node=4',
        '--rdzv-backend=c10d',
        `--rdzv-endpoint=localhost:${await findFreeNetworkPort()}`,
        "--rdzv-conf='join_timeout=5,last_call_timeout=1,timeout=5'",
        '--rdzv-id=98',
        '--monitor-interval=1',
        '--max-restarts=0',
        '--start-method=spawn',
        bin('test_script.py'),
        '--fail',
      ]);
      expect(result.code).not.toBe(0); // torchrun: ChildFailedError
      expect(result.stderr).toContain('raising exception since --fail flag was set');
    },
    TIMEOUT,
  );

  it(
    'test_launch_standalone',
    async () => {
      setUp();
      await mustPass([
        '--nnodes=1',
        '--nproc-per-node=4',
        '--standalone',
        '--monitor-interval=1',
        '--start-method=spawn',
        bin('test_script.py'),
        `--touch-file-dir=${testDir}`,
      ]);
      expect(listed()).toEqual(ranks(4));
    },
    TIMEOUT,
  );

  it(
    'test_launch_run_path',
    async () => {
      setUp();
      await mustPass([
        '--run-path',
        '--nnodes=1',
        '--nproc-per-node=4',
        '--monitor-interval=1',
        '--start-method=spawn',
        bin('test_script.py'),
        `--touch-file-dir=${testDir}`,
      ]);
      expect(listed()).toEqual(ranks(4));
    },
    TIMEOUT,
  );

  it(
    'test_launch_elastic_multiple_agents (two launchers of --nnodes=1:2 on one host: one job of 8 ranks)',
    async () => {
      setUp();
      const args = [
        '--nnodes=1:2',
        '--nproc-per-node=4',
        '--rdzv-backend=c10d',
        `--rdzv-endpoint=localhost:${await findFreeNetworkPort()}`,
        '--rdzv_conf=timeout=5',
        '--rdzv-id=77',
        '--monitor-interval=1',
        '--start-method=spawn',
        bin('test_script.py'),
        `--touch-file-dir=${testDir}`,
      ];
      const other = startCli(args, { env });
      const mine = await ddprun(args);
      const theirs = await other.done;
      expect([mine.code, theirs.code], `${mine.stderr}\n----\n${theirs.stderr}`).toEqual([0, 0]);
      expect(listed()).toEqual(ranks(8));
    },
    TIMEOUT,
  );

  it(
    'test_is_torchelastic_launched',
    async () => {
      setUp();
      const outFile = path.join(testDir, 'out');
      await mustPass([
        '--run-path',
        '--nnodes=1',
        '--nproc-per-node=1',
        '--monitor-interval=1',
        bin('test_script_is_torchelastic_launched.py'),
        `--out-file=${outFile}`,
      ]);
      expect(readFileSync(outFile, 'utf8').split('\n')[0]).toBe('True');
    },
    TIMEOUT,
  );

  it(
    'test_init_method_tcp_with_torchelastic and test_init_method_env_with_torchelastic',
    async () => {
      for (const init of ['tcp', 'env']) {
        setUp();
        const port = await findFreeNetworkPort();
        const result = await mustPass([
          '--run-path',
          '--nnodes=1',
          '--nproc-per-node=4',
          '--master-addr=localhost',
          `--master-port=${port}`,
          '--monitor-interval=1',
          bin('test_script_init_method.py'),
          init === 'tcp' ? `--init-method=tcp://localhost:${port}` : '--init-method=env://',
        ]);
        // "nothing to validate, just make sure it runs"; the ranks also checked their all-reduce.
        expect(result.stdout.match(/all_reduce ok/g)).toHaveLength(4);
        box.cleanup();
      }
    },
    TIMEOUT,
  );

  it(
    'test_capture_logs_using_default_logs_specs (--redirect=3 --tee=3 reach the console, with the prefix template)',
    async () => {
      setUp();
      const result = await mustPass(
        [
          '--nnodes=1',
          '--nproc-per-node=4',
          '--rdzv-id=11',
          '--redirect=3',
          '--tee=3',
          '--monitor-interval=1',
          '--start-method=spawn',
          '--no-python',
          bin('test_script.sh'),
          testDir,
        ],
        { TORCHELASTIC_LOG_LINE_PREFIX_TEMPLATE: '[rank${rank}]: ' },
      );
      for (let i = 0; i < 4; i++) expect(result.stdout).toContain(`[rank${i}]: creating `);
    },
    TIMEOUT,
  );
});
