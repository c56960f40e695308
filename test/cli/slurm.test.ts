import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CliCommand } from '../../src/cli/args.js';
import { parseCli } from '../../src/cli/commands/index.js';
import { CLI, WORKER, ensureBuilt, runCli, sandbox, words, type Sandbox } from './helpers.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});
beforeAll(() => ensureBuilt());

/** A sandbox whose environment has no Slurm variables of its own, plus `slurm`. */
function box(slurm: Record<string, string> = {}): Sandbox {
  const s = sandbox();
  cleanups.push(s.cleanup);
  for (const name of Object.keys(s.env)) if (name.startsWith('SLURM_')) delete s.env[name];
  Object.assign(s.env, slurm);
  return s;
}

/** ddprun as the second node of a two-node `srun --ntasks-per-node=1` step with 2 GPUs per node. */
const STEP = {
  SLURM_JOB_ID: '4321',
  SLURM_NNODES: '2',
  SLURM_NODEID: '1',
  SLURM_STEP_ID: '0',
  SLURM_STEP_NODELIST: 'gpu[07-08]',
  SLURM_JOB_NODELIST: 'gpu[07-08]',
  SLURM_STEP_TASKS_PER_NODE: '1(x2)',
  SLURM_NTASKS_PER_NODE: '1',
  SLURM_LOCALID: '0',
  SLURM_GPUS_ON_NODE: '2',
};

interface PlanJson {
  masterAddr: string;
  masterPort: number;
  worldSize: number;
  ranks: { rank: number; localRank: number; env: Record<string, string> }[];
  slurm?: {
    jobId: string;
    values: { option: string; flag: string; value: unknown; source: string; detail?: string; slurm?: unknown }[];
  };
}

/** `ddprun --dry-run <args>`: expects exit 0, resolves the plan it printed. */
async function dryRun(args: readonly string[], env: NodeJS.ProcessEnv): Promise<string> {
  const run = await runCli(['--dry-run', ...args], { env });
  expect(run.code, run.stderr).toBe(0);
  return run.stdout;
}

const dryRunJson = async (args: readonly string[], env: NodeJS.ProcessEnv): Promise<PlanJson> =>
  JSON.parse(await dryRun(['--json', ...args], env)) as PlanJson;

describe('ddprun inside a Slurm allocation', () => {
  it('fills --nnodes, --node-rank, --master-addr, --master-port and --nproc-per-node from the allocation, and says from where', async () => {
    const s = box(STEP);
    const plan = await dryRunJson(['--no-python', 'true'], s.env);
    expect(plan.slurm).toEqual({
      jobId: '4321',
      values: [
        { option: 'nnodes', flag: '--nnodes', value: 2, source: 'SLURM_NNODES' },
        { option: 'nodeRank', flag: '--node-rank', value: 1, source: 'SLURM_NODEID' },
        {
          option: 'masterAddr',
          flag: '--master-addr',
          value: 'gpu07',
          source: 'SLURM_STEP_NODELIST',
          detail: 'first host of gpu[07-08]',
        },
        {
          option: 'masterPort',
          flag: '--master-port',
          value: 24321,
          source: 'SLURM_JOB_ID',
          detail: '20000 + 4321 % 10000',
        },
        { option: 'nprocPerNode', flag: '--nproc-per-node', value: 2, source: 'SLURM_GPUS_ON_NODE' },
      ],
    });
    expect(plan.masterAddr).toBe('gpu07');
    expect(plan.masterPort).toBe(24321);
    expect(plan.worldSize).toBe(4);
    expect(plan.ranks.map((r) => [r.rank, r.localRank, r.env.GROUP_RANK, r.env.WORLD_SIZE])).toEqual([
      [2, 0, '1', '4'],
      [3, 1, '1', '4'],
    ]);
  });

  it('lets every flag given on the command line win, and shows what Slurm said', async () => {
    const s = box(STEP);
    const plan = await dryRunJson(
      ['--nproc-per-node', '1', '--master-addr', '10.0.0.5', '--master_port=29400', '--no-python', 'true'],
      s.env,
    );
    expect(plan.masterAddr).toBe('10.0.0.5');
    expect(plan.masterPort).toBe(29400);
    expect(plan.worldSize).toBe(2);
    expect(plan.slurm?.values.filter((v) => v.source === 'command line')).toEqual([
      {
        option: 'masterAddr',
        flag: '--master-addr',
        value: '10.0.0.5',
        source: 'command line',
        slurm: { value: 'gpu07', source: 'SLURM_STEP_NODELIST', detail: 'first host of gpu[07-08]' },
      },
      {
        option: 'masterPort',
        flag: '--master-port',
        value: 29400,
        source: 'command line',
        slurm: { value: 24321, source: 'SLURM_JOB_ID', detail: '20000 + 4321 % 10000' },
      },
      {
        option: 'nprocPerNode',
        flag: '--nproc-per-node',
        value: 1,
        source: 'command line',
        slurm: { value: 2, source: 'SLURM_GPUS_ON_NODE' },
      },
    ]);
  });

  it('takes no node rank or master from Slurm for a single-node launch (--standalone or --nnodes 1)', async () => {
    const s = box({ ...STEP, SLURM_NODEID: '0' });
    // --standalone stands for --nnodes 1 --node-rank 0 --master-addr 127.0.0.1.
    for (const [flags, given] of [
      [['--standalone'], ['nnodes', 'nodeRank', 'masterAddr']],
      [['--nnodes', '1'], ['nnodes']],
    ] as const) {
      const plan = await dryRunJson([...flags, '--no-python', 'true'], s.env);
      expect(plan.worldSize).toBe(2);
      expect(plan.masterAddr).toBe('127.0.0.1');
      expect(plan.masterPort).not.toBe(24321);
      expect(plan.slurm?.values.map((v) => [v.option, v.source])).toEqual([
        ...given.map((option) => [option, 'command line']),
        ['nprocPerNode', 'SLURM_GPUS_ON_NODE'],
      ]);
    }
  });

  it('prints where each value came from in the human --dry-run', async () => {
    const s = box(STEP);
    expect(await dryRun(['--nnodes', '2', '--no-python', 'true'], s.env)).toContain(
      [
        'slurm: job 4321; values from the allocation unless given on the command line',
        '  --nnodes 2           from the command line (Slurm: 2 from SLURM_NNODES)',
        '  --node-rank 1        from SLURM_NODEID',
        '  --master-addr gpu07  from SLURM_STEP_NODELIST (first host of gpu[07-08])',
        '  --master-port 24321  from SLURM_JOB_ID (20000 + 4321 % 10000)',
        '  --nproc-per-node 2   from SLURM_GPUS_ON_NODE',
      ].join('\n'),
    );
  });

  it("falls back to torchrun's auto rule when Slurm gives no GPU or task count", async () => {
    const { SLURM_GPUS_ON_NODE: _gpus, ...noGpus } = STEP;
    const s = box(noGpus);
    const plan = await dryRunJson(['--python', '/usr/bin/python3', WORKER], s.env);
    expect(plan.slurm?.values.at(-1)).toMatchObject({
      option: 'nprocPerNode',
      value: 'auto',
      source: 'torchrun auto rule',
    });
    // torch without CUDA: one rank per CPU.
    expect(plan.ranks).toHaveLength(os.availableParallelism());
  });

  it('leaves everything alone outside Slurm', async () => {
    const s = box();
    const plan = await dryRunJson(['--no-python', 'true'], s.env);
    expect(plan.slurm).toBeUndefined();
    expect(plan.worldSize).toBe(1);
  });

  it('refuses, with exit code 2, to start as one of several tasks on a node', async () => {
    const s = box({ ...STEP, SLURM_STEP_TASKS_PER_NODE: '2(x2)', SLURM_LOCALID: '1' });
    const run = await runCli(['--no-python', 'true'], { env: s.env });
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(
      'error: ddprun was started as one of 2 Slurm tasks on this node (this is local task 1), from SLURM_STEP_TASKS_PER_NODE=2(x2); ' +
        'ddprun starts every rank of a node itself, so it expects one task per node: `srun --ntasks-per-node=1 ddprun …` ' +
        '(or `ddprun slurm`, which writes that line for you). Run it with --ntasks-per-node=1 and set the ranks per node with --nproc-per-node.\n',
    );
  });

  it('refuses, with exit code 2, to run in a multi-node batch script without srun', async () => {
    const s = box({ SLURM_JOB_ID: '4321', SLURM_NNODES: '2', SLURM_JOB_NODELIST: 'gpu[07-08]', SLURM_NODEID: '0' });
    const run = await runCli(['--dry-run', '--no-python', 'true'], { env: s.env });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(
      /^error: ddprun was started outside `srun` in a Slurm job of 2 nodes, so it would run on one node only/,
    );
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('names the Slurm variable it cannot use, exit code 2', async () => {
    const s = box({ ...STEP, SLURM_NODEID: 'first' });
    const run = await runCli(['--dry-run', '--no-python', 'true'], { env: s.env });
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(
      'error: Expected SLURM_NODEID to be an integer of at least 0, got "first". ddprun reads it because SLURM_JOB_ID is set; pass the launch flags yourself or fix the variable.\n',
    );
  });
});

function slurmCommand(argv: string[]): Extract<CliCommand, { kind: 'slurm' }> {
  const command = parseCli(['slurm', ...argv]);
  if (command.kind !== 'slurm') throw new Error(`expected ddprun slurm, got ${command.kind}`);
  return command;
}

describe('ddprun slurm: arguments', () => {
  it('slurm … train: sbatch flags before `train`, launch flags after it; each node runs `ddprun train …`', () => {
    const trainer = 'pkg.mod.Trainer';
    const { submit } = slurmCommand([
      '--nodes',
      '1',
      '--requeue',
      '--signal-before',
      '300',
      'train',
      '--grace-period',
      '30',
      trainer,
      'epochs=3',
    ]);
    expect(submit).toMatchObject({ nodes: 1, requeue: true, signalBeforeS: 300 });
    expect(submit.ddprunArgs).toEqual(['train', '--grace-period', '30', trainer, 'epochs=3']);
    expect(submit.launch.gracePeriodMs).toBe(30_000);
    expect(() => slurmCommand(['--nproc-per-node', '2', 'train', trainer])).toThrow(/launch flags go after `train`/);
    expect(() => slurmCommand(['--signal-before', '0', 'x.py'])).toThrow(/from 1 to 65535/);
    // A script named train is still one (after --).
    expect(slurmCommand(['--', 'train', 'x']).submit.ddprunArgs).toEqual(['--', 'train', 'x']);
  });

  it('keeps its own flags and passes the launch options, script and arguments through', () => {
    const command = slurmCommand([
      ...words('--nodes 2 --gpus_per_node=4 --sbatch-arg --qos=high --nproc_per_node 4 --sbatch-arg=--constraint=a100'),
      ...words('--time 1:00:00 --dry-run --json --max-restarts 1 --wait --wait-timeout 90'),
      ...words('train.py --nodes 7 --lr 0.1'),
    ]);
    expect(command.submit).toMatchObject({
      nodes: 2,
      gpusPerNode: 4,
      time: '1:00:00',
      outputPattern: 'ddprun-%j.out',
      sbatchArgs: ['--qos=high', '--constraint=a100'],
      wait: true,
      waitTimeoutMs: 90_000,
      ddprunArgs: ['--nproc-per-node', '4', '--max-restarts', '1', 'train.py', '--nodes', '7', '--lr', '0.1'],
    });
    expect(command.output).toEqual({ dryRun: true, json: true, quiet: false });
  });

  it('takes the node count from --nnodes, defaults to one node, and protects a script named like a subcommand', () => {
    expect(slurmCommand(['--nnodes', '3', 'train.py']).submit).toMatchObject({
      nodes: 3,
      ddprunArgs: ['--nnodes', '3', 'train.py'],
    });
    expect(slurmCommand(['train.py']).submit.nodes).toBe(1);
    // `train` is the subcommand (each node runs `ddprun train …`); after `--` it is a script, kept so for the nodes.
    expect(slurmCommand(['--nodes', '2', '--', 'train', 'x']).submit.ddprunArgs).toEqual(['--', 'train', 'x']);
    expect(slurmCommand(['-m', 'pkg.train']).submit.ddprunArgs).toEqual(['-m', 'pkg.train']);
  });

  it.each([
    [['--nodes', '0', 'x.py'], '--nodes expects a positive integer, got "0".'],
    [['--nodes', 'two', 'x.py'], '--nodes expects an integer, e.g. `2`, got `"two"` (string).'],
    [['--nodes', '2'], 'Missing the script to run.'],
    [['--frobnicate', 'x.py'], "Unknown option '--frobnicate'."],
    [['--node-rank', '1', 'x.py'], '--node-rank differs on every node'],
    [['--nodes', '2', '--nnodes', '3', 'x.py'], '--nodes 2 and --nnodes 3 disagree'],
    [['--nodes', '2', '--standalone', 'x.py'], '--standalone runs a single node, but the job has 2 nodes.'],
    [['--wait-timeout', '5', 'x.py'], '--wait-timeout only bounds --wait.'],
    [['--nproc-per-node', 'many', 'x.py'], '--nproc-per-node expects a number of ranks'],
  ])('rejects %j', (argv, message) => {
    expect(() => parseCli(['slurm', ...argv])).toThrow(message);
  });
});

describe('ddprun slurm: process', () => {
  /** Stand-ins for sbatch and scontrol: sbatch keeps the script it got and prints job id 4242. */
  function fakeSlurm(s: Sandbox, jobState: string): string {
    const bin = path.join(s.dir, 'bin');
    mkdirSync(bin);
    writeFileSync(
      path.join(bin, 'sbatch'),
      `#!/bin/sh\ncat > ${JSON.stringify(path.join(s.dir, 'submitted.sh'))}\necho "$@" > ${JSON.stringify(path.join(s.dir, 'sbatch-args'))}\necho 4242\n`,
    );
    writeFileSync(
      path.join(bin, 'scontrol'),
      `#!/bin/sh\necho "JobId=4242 JobName=ddprun JobState=${jobState} Reason=None"\n`,
    );
    for (const tool of ['sbatch', 'scontrol']) chmodSync(path.join(bin, tool), 0o755);
    // The script the tests submit: it is checked to exist before anything is submitted.
    writeFileSync(path.join(s.out, 'train.py'), 'print("hi")\n');
    s.env.PATH = `${bin}${path.delimiter}${s.env.PATH ?? ''}`;
    return bin;
  }

  it.each([
    [
      ['--nproc-per-node', '0', WORKER],
      /^error: Expected --nproc-per-node to be an integer from 1 to \d+, or 'auto', 'gpu' or 'cpu', got `0` \(number\)$/,
    ],
    [['--master-port', '0', WORKER], /^error: Expected --master-port to be an integer from 1 to 65535/],
    [['--nodes', '2', 'no-such-script.py'], /^error: The script "no-such-script\.py" does not exist or cannot be read/],
    [['--nnodes', '1:2', WORKER], /^error: Elastic membership .* needs torchrun's c10d rendezvous/],
    // A batch job has no terminal: each node's ddprun would refuse it only after the queue.
    [
      ['--interactive', WORKER],
      /^error: --interactive gives a rank the terminal, which a Slurm batch job does not have/,
    ],
  ])('checks the launch options before submitting: %j', async (args, message) => {
    const s = box();
    fakeSlurm(s, 'COMPLETED');
    const run = await runCli(['slurm', ...args], { env: s.env, cwd: s.dir });
    expect(run.code).toBe(2);
    expect(run.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(message)]);
    expect(existsSync(path.join(s.dir, 'submitted.sh'))).toBe(false);
  });

  it('--dry-run prints the sbatch script and submits nothing', async () => {
    const s = box();
    fakeSlurm(s, 'COMPLETED ExitCode=0:0');
    const run = await runCli(
      ['slurm', '--nodes', '2', '--partition', 'gpu', '--dry-run', '--nproc-per-node', '2', 'train.py', "it's"],
      { env: s.env, cwd: s.out },
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe(
      [
        '#!/bin/bash',
        "# Written by ddprun: one ddprun per node (srun --ntasks-per-node=1), each starting its node's ranks.",
        '#SBATCH --job-name=ddprun',
        '#SBATCH --nodes=2',
        '#SBATCH --ntasks-per-node=1',
        '#SBATCH --partition=gpu',
        `#SBATCH --chdir=${s.out}`,
        '#SBATCH --output=ddprun-%j.out',
        'set -euo pipefail',
        'export PATH="${PATH:+$PATH:}/usr/local/bin:/usr/bin:/bin"',
        `srun --ntasks-per-node=1 --kill-on-bad-exit=1 ${process.execPath} ${CLI} --nproc-per-node 2 train.py 'it'\\''s'`,
        '',
      ].join('\n'),
    );
    expect(run.stderr).toContain(`its output would go to ${path.join(s.out, 'ddprun-%j.out')}. Nothing was submitted.`);
    expect(() => readFileSync(path.join(s.dir, 'submitted.sh'))).toThrow();
  });

  it('submits, prints the job id and where the output goes, and returns without --wait', async () => {
    const s = box();
    fakeSlurm(s, 'RUNNING ExitCode=0:0');
    const run = await runCli(['slurm', '--nodes', '2', 'train.py'], { env: s.env, cwd: s.out });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe('Submitted batch job 4242\n');
    expect(run.stderr).toBe(`Output: ${path.join(s.out, 'ddprun-4242.out')}\n`);
    expect(readFileSync(path.join(s.dir, 'submitted.sh'), 'utf8')).toContain('#SBATCH --nodes=2\n');
    expect(readFileSync(path.join(s.dir, 'sbatch-args'), 'utf8')).toBe('--parsable\n');
  });

  it("with --wait prints the job's output and exits with its exit code", async () => {
    const s = box();
    fakeSlurm(s, 'FAILED ExitCode=7:0');
    writeFileSync(path.join(s.out, 'run-4242.log'), '[rank0]:hello\n');
    const run = await runCli(['slurm', '--output', 'run-%j.log', '--wait', '--wait-timeout', '30', 'train.py'], {
      env: s.env,
      cwd: s.out,
    });
    expect(run.code).toBe(7);
    expect(run.stdout).toBe('Submitted batch job 4242\n[rank0]:hello\n');
    expect(run.stderr).toMatch(
      new RegExp(`Slurm job 4242 FAILED with exit code 7 after .*; output: ${path.join(s.out, 'run-4242.log')}\\n$`),
    );
  });

  it('with --wait --json writes submitted and job-end events; a cancelled job exits 128+signal', async () => {
    const s = box();
    fakeSlurm(s, 'CANCELLED ExitCode=0:15');
    const run = await runCli(['slurm', '--json', '--wait', 'train.py'], { env: s.env, cwd: s.out });
    expect(run.code).toBe(143);
    const events = run.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(events[0]).toEqual({
      v: 1,
      t: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) as unknown,
      event: 'submitted',
      jobId: '4242',
      output: path.join(s.out, 'ddprun-4242.out'),
    });
    expect(events[1]).toMatchObject({
      event: 'job-end',
      jobId: '4242',
      state: 'CANCELLED',
      exitCode: 0,
      signal: 15,
      ok: false,
      code: 143,
    });
    expect(events).toHaveLength(2);
  });

  it('says so, exit code 1, when sbatch refuses the job', async () => {
    const s = box();
    const bin = fakeSlurm(s, 'COMPLETED ExitCode=0:0');
    writeFileSync(
      path.join(bin, 'sbatch'),
      '#!/bin/sh\necho "sbatch: error: invalid partition specified: nope" >&2\nexit 1\n',
    );
    const run = await runCli(['slurm', '--partition', 'nope', 'train.py'], { env: s.env, cwd: s.out });
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(
      'error: sbatch refused the job (exit code 1): sbatch: error: invalid partition specified: nope\n',
    );
  });
});
