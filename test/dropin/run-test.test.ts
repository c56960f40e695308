// PyTorch's launcher tests (test/distributed/launcher/test_run.py in torch 2.x, run_test.py in 1.13) with `ddprun`
// where `torchrun` stands: each command line exactly as the PyTorch test writes it, asserting what it asserts.
// Only the cases that need no mocking of torch internals are here; bin/ holds this project's own rank scripts,
// written in the spirit of PyTorch's (touch a file named by the global rank, check is_torchelastic_launched(), …).
// The cases are independent (each its own sandbox, ports and run ids) and run concurrently: most of their time is
// interpreter start-up and rendezvous waits, which overlap.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { ensureBuilt, runCli, sandbox, startCli, type Sandbox } from '../cli/helpers.js';
import { torchPython, TORCH_SKIP_REASON } from '../helpers/python.js';
import { findFreeNetworkPort } from 'ddprun/ultralytics';

const BIN = path.join(path.dirname(fileURLToPath(import.meta.url)), 'bin');
const bin = (script: string) => path.join(BIN, script);
const TIMEOUT = 240_000;

const python = await torchPython();
const run = python ? describe.concurrent : describe.skip;
if (!python) console.warn(`test/dropin: ${TORCH_SKIP_REASON}`);

const boxes: Sandbox[] = [];
beforeAll(() => ensureBuilt());
afterAll(() => boxes.splice(0).forEach((box) => box.cleanup()));

/** One case's sandbox: PyTorch's `test_dir`, and the environment with its `TEST_SENTINEL_PARENT` and no `PET_*`. */
interface Case {
  testDir: string;
  env: NodeJS.ProcessEnv;
  /** `os.listdir(test_dir)`, sorted. */
  listed(): string[];
}

function setUp(): Case {
  const box = sandbox();
  boxes.push(box);
  const testDir = mkdtempSync(path.join(box.dir, 'test_dir-'));
  const env: NodeJS.ProcessEnv = { ...box.env, TEST_SENTINEL_PARENT: 'FOOBAR' };
  for (const key of Object.keys(env)) if (key.startsWith('PET_')) delete env[key];
  return { testDir, env, listed: () => readdirSync(testDir).sort() };
}

/** `{str(i) for i in range(world_size)}`. */
const ranks = (worldSize: number) => Array.from({ length: worldSize }, (_, i) => String(i)).sort();

function ddprun(c: Case, args: string[], extraEnv: NodeJS.ProcessEnv = {}) {
  return runCli(args, { env: { ...c.env, ...extraEnv } });
}

async function mustPass(c: Case, args: string[], extraEnv: NodeJS.ProcessEnv = {}) {
  const result = await ddprun(c, args, extraEnv);
  if (result.code !== 0) throw new Error(`exit ${result.code}\n${result.stdout}\n${result.stderr}`);
  return result;
}

/** What a case needs before its command line is built: its test dir, a free port, a fresh run id. */
interface Ctx {
  dir: string;
  port: number;
  runId: string;
}

/** The cases that launch once and assert one file per rank (and no Python traceback anywhere in the output). */
const TOUCH_CASES: [name: string, args: (ctx: Ctx) => string[], worldSize: number][] = [
  [
    'test_launch_user_script_python',
    ({ dir, runId }) => [
      ...['--nnodes=1', '--nproc-per-node=4', `--rdzv-id=${runId}`, '--monitor-interval=1', '--start-method=spawn'],
      ...[bin('test_script.py'), `--touch-file-dir=${dir}`],
    ],
    4,
  ],
  [
    'test_launch_user_script_python_caffe2_bc (2.x dash spellings)',
    ({ dir, port }) => [
      ...['--nnodes=1', '--nproc-per-node=4', '--monitor-interval=1', '--start-method=spawn'],
      ...['--master-addr=localhost', `--master-port=${port}`, '--node-rank=0'],
      ...[bin('test_script.py'), `--touch-file-dir=${dir}`],
    ],
    4,
  ],
  [
    'test_launch_user_script_python_caffe2_bc (1.13 underscore spellings)',
    ({ dir, port }) => [
      ...['--nnodes=1', '--nproc_per_node=4', '--monitor_interval=1', '--start_method=spawn'],
      ...['--master_addr=localhost', `--master_port=${port}`, '--node_rank=0'],
      ...[bin('test_script.py'), `--touch-file-dir=${dir}`],
    ],
    4,
  ],
  [
    'test_launch_user_script_default_nproc',
    ({ dir }) => [
      ...['--nnodes=1', '--rdzv-id=7', '--monitor-interval=1', '--start-method=spawn'],
      ...['--no-python', bin('test_script.sh'), dir],
    ],
    1,
  ],
  ...(
    [
      ['auto', os.availableParallelism(), ' (no CUDA here: the CPU count)'],
      ['4', 4, ''],
    ] as const
  ).map(([nprocType, expected, note]): (typeof TOUCH_CASES)[number] => [
    `test_nproc_launch_${nprocType === 'auto' ? 'auto' : 'number'}_configurations${note}`,
    ({ dir }) => [
      ...['--nnodes=1', `--nproc-per-node=${nprocType}`, '--rdzv-id=5', '--monitor-interval=1', '--start-method=spawn'],
      ...['--no-python', bin('test_script.sh'), dir],
    ],
    expected,
  ]),
  [
    'test_launch_elastic (one agent of --nnodes=1:2, c10d)',
    ({ dir, port }) => [
      ...['--nnodes=1:2', '--nproc-per-node=4', '--rdzv-backend=c10d', `--rdzv-endpoint=localhost:${port}`],
      ...["--rdzv-conf='join_timeout=5,last_call_timeout=1,timeout=5'", '--rdzv-id=99'],
      ...['--monitor-interval=1', '--start-method=spawn', bin('test_script.py'), `--touch-file-dir=${dir}`],
    ],
    4,
  ],
  [
    'test_launch_standalone',
    ({ dir }) => [
      ...['--nnodes=1', '--nproc-per-node=4', '--standalone', '--monitor-interval=1', '--start-method=spawn'],
      ...[bin('test_script.py'), `--touch-file-dir=${dir}`],
    ],
    4,
  ],
  [
    'test_launch_run_path',
    ({ dir }) => [
      ...['--run-path', '--nnodes=1', '--nproc-per-node=4', '--monitor-interval=1', '--start-method=spawn'],
      ...[bin('test_script.py'), `--touch-file-dir=${dir}`],
    ],
    4,
  ],
];

const PET = {
  PET_NNODES: '1',
  PET_NPROC_PER_NODE: '4',
  PET_RDZV_ID: '1234',
  PET_MONITOR_INTERVAL: '1',
  PET_START_METHOD: 'spawn',
  PET_NO_PYTHON: '1',
};

/**
 * The cases that first launch what torchrun refuses with a ValueError (exit 2, nothing run), then the valid launch
 * (one file per rank): `launch(dir, refused)` gives each command line and its extra environment.
 */
const REFUSE_THEN_PASS: [name: string, launch: (dir: string, refused: boolean) => [string[], NodeJS.ProcessEnv]][] = [
  [
    'test_launch_user_script_bash (and --module with --no-python is refused)',
    (dir, refused) => [
      [
        ...['--nnodes=1', '--nproc-per-node=4', '--rdzv-id=42', '--monitor-interval=1', '--start-method=spawn'],
        ...['--no-python', ...(refused ? ['--module'] : []), bin('test_script.sh'), dir],
      ],
      {},
    ],
  ],
  [
    'test_launch_with_env_vars (PET_*; PET_MODULE=1 with PET_NO_PYTHON=1 is refused)',
    (dir, refused) => [[bin('test_script.sh'), dir], { ...PET, PET_MODULE: refused ? '1' : '0' }],
  ],
];

/** A fresh case with what its command line needs. */
/**
 * A c10d TCPStore of torch's own on an OS-assigned port (bound once, held, never released before the launchers use
 * it), in a Python process that lives until `close`.
 */
async function rendezvousStore(): Promise<{ port: number; close: () => void }> {
  const code = [
    'import datetime, sys',
    'from torch.distributed import TCPStore',
    "store = TCPStore('localhost', 0, is_master=True, timeout=datetime.timedelta(seconds=300), wait_for_workers=False)",
    'print(store.port, flush=True)',
    'sys.stdin.read()',
  ].join('\n');
  const proc = spawn(python!, ['-c', code], { stdio: ['pipe', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    proc.once('error', reject);
    proc.once('exit', (code) => reject(new Error(`the rendezvous store exited (${code})`)));
    proc.stdout.once('data', (b: Buffer) => resolve(Number(b.toString().trim())));
  });
  return { port, close: () => proc.stdin.end() };
}

async function prepare(): Promise<[Case, Ctx]> {
  const c = setUp();
  const runId = String(BigInt(`0x${Math.random().toString(16).slice(2, 14)}`));
  return [c, { dir: c.testDir, port: await findFreeNetworkPort(), runId }];
}

run('PyTorch test_run.py / run_test.py with ddprun in place of torchrun', () => {
  it.for(TOUCH_CASES)('%s', { timeout: TIMEOUT }, async ([, args, worldSize], { expect }) => {
    const [c, ctx] = await prepare();
    const result = await mustPass(c, args(ctx));
    expect(c.listed()).toEqual(ranks(worldSize));
    expect(result.stderr + result.stdout).not.toMatch(/Traceback/);
  });

  it.for(REFUSE_THEN_PASS)('%s', { timeout: TIMEOUT }, async ([, launch], { expect }) => {
    const c = setUp();
    const [refusedArgs, refusedEnv] = launch(c.testDir, true);
    const refused = await ddprun(c, refusedArgs, refusedEnv);
    expect(refused.code).toBe(2); // torchrun: ValueError
    expect(c.listed()).toEqual([]);
    await mustPass(c, ...launch(c.testDir, false));
    expect(c.listed()).toEqual(ranks(4));
  });

  it(
    'test_nproc_launch_unknown_configurations',
    async ({ expect }) => {
      const c = setUp();
      const args = ['--nnodes=1', '--nproc-per-node=unknown', '--rdzv-id=5', '--monitor-interval=1'];
      const result = await ddprun(c, [
        ...args,
        '--start-method=spawn',
        '--no-python',
        bin('test_script.sh'),
        c.testDir,
      ]);
      expect(result.code).toBe(2);
      expect(c.listed()).toEqual([]);
    },
    TIMEOUT,
  );

  it(
    'test_launch_elastic_worker_raise_exception (the launch fails)',
    async ({ expect }) => {
      const [c, { port }] = await prepare();
      const result = await ddprun(c, [
        ...['--nnodes=1:2', '--nproc-per-node=4', '--rdzv-backend=c10d', `--rdzv-endpoint=localhost:${port}`],
        ...["--rdzv-conf='join_timeout=5,last_call_timeout=1,timeout=5'", '--rdzv-id=98', '--monitor-interval=1'],
        ...['--max-restarts=0', '--start-method=spawn', bin('test_script.py'), '--fail'],
      ]);
      expect(result.code).not.toBe(0); // torchrun: ChildFailedError
      expect(result.stderr).toContain('raising exception since --fail flag was set');
    },
    TIMEOUT,
  );

  it(
    'test_launch_elastic_multiple_agents (two launchers of --nnodes=1:2 on one host: one job of 8 ranks)',
    async ({ expect }) => {
      const c = setUp();
      const dir = c.testDir;
      // Race-free (#22): a port picked free and bound later by an agent can be taken meanwhile (errno 98 under load).
      // The rendezvous store is bound on port 0 and held from before the launchers start; both agents try to host
      // it on localhost, find the port taken, and join it as clients (torch's own fallback for agents on one host).
      const store = await rendezvousStore();
      try {
        const args = [
          ...['--nnodes=1:2', '--nproc-per-node=4', '--rdzv-backend=c10d', `--rdzv-endpoint=localhost:${store.port}`],
          ...['--rdzv_conf=timeout=5', '--rdzv-id=77', '--monitor-interval=1', '--start-method=spawn'],
          ...[bin('test_script.py'), `--touch-file-dir=${dir}`],
        ];
        const other = startCli(args, { env: c.env });
        const mine = await ddprun(c, args);
        const theirs = await other.done;
        expect([mine.code, theirs.code], `${mine.stderr}\n----\n${theirs.stderr}`).toEqual([0, 0]);
        expect(c.listed()).toEqual(ranks(8));
      } finally {
        store.close();
      }
    },
    TIMEOUT,
  );

  it(
    'test_is_torchelastic_launched',
    async ({ expect }) => {
      const c = setUp();
      const outFile = path.join(c.testDir, 'out');
      await mustPass(c, [
        ...['--run-path', '--nnodes=1', '--nproc-per-node=1', '--monitor-interval=1'],
        ...[bin('test_script_is_torchelastic_launched.py'), `--out-file=${outFile}`],
      ]);
      expect(readFileSync(outFile, 'utf8').split('\n')[0]).toBe('True');
    },
    TIMEOUT,
  );

  it.for(['tcp', 'env'])('test_init_method_%s_with_torchelastic', { timeout: TIMEOUT }, async (init, { expect }) => {
    const [c, { port }] = await prepare();
    const result = await mustPass(c, [
      ...['--run-path', '--nnodes=1', '--nproc-per-node=4', '--master-addr=localhost', `--master-port=${port}`],
      ...['--monitor-interval=1', bin('test_script_init_method.py')],
      init === 'tcp' ? `--init-method=tcp://localhost:${port}` : '--init-method=env://',
    ]);
    // "nothing to validate, just make sure it runs"; the ranks also checked their all-reduce.
    expect(result.stdout.match(/all_reduce ok/g)).toHaveLength(4);
  });

  it(
    'test_capture_logs_using_default_logs_specs (--redirect=3 --tee=3 reach the console, with the prefix template)',
    async ({ expect }) => {
      const c = setUp();
      const result = await mustPass(
        c,
        [
          ...['--nnodes=1', '--nproc-per-node=4', '--rdzv-id=11', '--redirect=3', '--tee=3', '--monitor-interval=1'],
          ...['--start-method=spawn', '--no-python', bin('test_script.sh'), c.testDir],
        ],
        { TORCHELASTIC_LOG_LINE_PREFIX_TEMPLATE: '[rank${rank}]: ' },
      );
      for (let i = 0; i < 4; i++) expect(result.stdout).toContain(`[rank${i}]: creating `);
    },
    TIMEOUT,
  );
});
