import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { WORKER, listFiles, processesWith, runCli, startCli, unreachableMaster, useSandboxes } from './helpers.js';
import { writeStandInPython } from '../helpers/python.js';

const box = useSandboxes();

describe('ddprun script.py', () => {
  it('accepts torchrun’s underscore spellings and passes the script’s arguments untouched', async () => {
    const s = box();
    const run = await runCli(
      [
        '--nproc_per_node=2',
        '--max_restarts',
        '0',
        WORKER,
        'ok',
        s.out,
        '--lr',
        '0.1',
        '--nproc_per_node',
        '7',
        '--help',
      ],
      { env: s.env },
    );
    expect(run.code).toBe(0);
    const lines = run.stdout.trim().split('\n').sort();
    expect(lines).toEqual([
      '[rank0]:args ["--lr", "0.1", "--nproc_per_node", "7", "--help"]',
      '[rank1]:args ["--lr", "0.1", "--nproc_per_node", "7", "--help"]',
    ]);
    expect(run.stderr).toContain('[rank1]:rank 1 says hello on stderr');
    expect(run.stderr).toMatch(/ddprun succeeded in .* \(1 attempt\)\n {2}rank {2}exit {2}duration\n {2}0 {5}0 /);
    expect(readdirSync(s.out).sort()).toEqual(['0', '1']);
  });

  it('writes plain lines without colours or a status line when not on a terminal, and only rank lines with --quiet', async () => {
    const s = box();
    const run = await runCli(['--quiet', '--nproc-per-node', '2', '--local-ranks-filter', '1', WORKER, 'ok', s.out], {
      env: { ...s.env, FORCE_COLOR: '1' },
    });
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('[rank1]:args []\n');
    expect(run.stderr).not.toContain('\u001b[');
    expect(run.stderr).not.toContain('ddprun succeeded');
  });

  it('exits with the failing rank’s code and prints the root cause', async () => {
    const s = box();
    const run = await runCli(['--nproc-per-node', '2', '--grace-period', '2', WORKER, 'fail', s.out], { env: s.env });
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/ddprun failed in/);
    expect(run.stderr).toMatch(/Root cause: rank 1 \(local rank 1, pid \d+, host .*\) failed with exit code 3/);
  });

  it('exits with 128+9 when the failing rank was SIGKILLed', async () => {
    const s = box();
    const run = await runCli(['--nproc-per-node', '2', WORKER, 'kill', s.out], { env: s.env });
    expect(run.code).toBe(137);
    expect(run.stderr).toMatch(/failed with signal SIGKILL \(9\)/);
  });

  it('exits with 75 (preempted) when ddprun itself gets a SIGTERM no `ddprun stop` sent, and leaves no rank behind', async () => {
    const s = box();
    const { child, done } = startCli(['--json', '--nproc-per-node', '2', WORKER, 'sleep', s.out], { env: s.env });
    let ready = 0;
    await new Promise<void>((resolve) => {
      child.stdout?.on('data', (chunk: string) => {
        ready += (chunk.match(/"text":"ready"/g) ?? []).length;
        if (ready >= 2) resolve();
      });
    });
    child.kill('SIGTERM');
    const run = await done;
    expect(run.code).toBe(75);
    const events = run.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { event: string; signal?: string });
    expect(events.at(-1)).toMatchObject({ event: 'done', signal: 'SIGTERM', exitCode: 75 });
    expect(processesWith(s.out)).toEqual([]);
  });

  it('--json writes one parseable event per line on stdout, ending with done', async () => {
    const s = box();
    const run = await runCli(['--json', '--nproc-per-node', '2', WORKER, 'ok', s.out], { env: s.env });
    expect(run.code).toBe(0);
    const events = run.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const kinds = events.map((e) => e.event);
    expect(kinds.filter((k) => k === 'started')).toHaveLength(2);
    expect(kinds.filter((k) => k === 'exited')).toHaveLength(2);
    expect(kinds.at(-1)).toBe('done');
    expect(events).toContainEqual({
      v: 1,
      t: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) as unknown,
      event: 'line',
      rank: 0,
      localRank: 0,
      stream: 'stdout',
      text: 'args []',
    });
    expect(events.at(-1)).toMatchObject({ event: 'done', exitCode: 0, attempts: 1 });
    // Human output goes to stderr.
    expect(run.stderr).toContain('ddprun succeeded');
  });
});

describe('--dry-run', () => {
  it('prints each rank’s argv, cwd and environment, and starts, writes and deletes nothing', async () => {
    const s = box();
    const run = await runCli(['--dry-run', '--nproc-per-node', '2', '--run-id', 'dry-run-token', WORKER, 'ok', s.out], {
      env: s.env,
    });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('ddprun --dry-run: 2 rank(s) on this node, world size 2, backend native');
    expect(run.stdout).toMatch(/rank 1 \(local rank 1\)\n {2}argv: .*python3 -u .*cli_worker\.py ok /);
    expect(run.stdout).toContain('    TORCHELASTIC_RUN_ID=dry-run-token');
    expect(run.stdout).toContain('Nothing was started, written or deleted.');
    expect(readdirSync(s.out)).toEqual([]);
    expect(listFiles(s.dir)).toEqual([]);
    expect(processesWith('dry-run-token')).toEqual([]);
  });

  it('prints the plan as JSON with --json', async () => {
    const s = box();
    const run = await runCli(
      ['--dry-run', '--json', '--nproc-per-node', '2', '--master-port', '29555', WORKER, 'ok', s.out],
      { env: s.env },
    );
    expect(run.code).toBe(0);
    const plan = JSON.parse(run.stdout) as {
      worldSize: number;
      masterPort: number;
      ranks: { rank: number; env: Record<string, string> }[];
      portChosenAtLaunch: boolean;
    };
    expect(plan).toMatchObject({ worldSize: 2, masterPort: 29555, portChosenAtLaunch: false });
    expect(plan.ranks.map((r) => r.env.RANK)).toEqual(['0', '1']);
    expect(readdirSync(s.out)).toEqual([]);
  });
});

describe('bad input: exit 2, one line naming the problem, nothing started or written', () => {
  const cases: [string, (out: string) => string[], RegExp][] = [
    [
      'an unknown flag',
      (out) => ['--bogus', WORKER, 'ok', out],
      /^error: Unknown option '--bogus'\. See `ddprun --help`\.$/,
    ],
    ['a missing script', () => ['--nproc-per-node', '2'], /^error: Missing the script to run\. /],
    [
      'a script that does not exist',
      () => ['no-such-script.py'],
      /^error: The script "no-such-script\.py" does not exist or cannot be read/,
    ],
    [
      '--nproc-per-node 0',
      (out) => ['--nproc-per-node', '0', WORKER, 'ok', out],
      /^error: Expected --nproc-per-node to be an integer from 1 to \d+, or 'auto', 'gpu' or 'cpu', got `0` \(number\)$/,
    ],
    [
      '--nproc-per-node -1',
      (out) => ['--nproc-per-node', '-1', WORKER, 'ok', out],
      /^error: Expected --nproc-per-node to be an integer from 1 to \d+, or 'auto', 'gpu' or 'cpu', got `-1` \(number\)$/,
    ],
    [
      '--nproc-per-node abc',
      (out) => ['--nproc-per-node', 'abc', WORKER, 'ok', out],
      /^error: --nproc-per-node expects a number of ranks .* got `"abc"` \(string\)\.$/,
    ],
    [
      '--nproc-per-node 1e9',
      (out) => ['--nproc-per-node', '1e9', WORKER, 'ok', out],
      /^error: --nproc-per-node expects a number of ranks .* got `"1e9"` \(string\)\.$/,
    ],
    [
      '--nproc-per-node 1000000000',
      (out) => ['--nproc-per-node', '1000000000', WORKER, 'ok', out],
      /^error: Expected --nproc-per-node to be an integer from 1 to \d+/,
    ],
    [
      '--node-rank >= --nnodes',
      (out) => [
        '--nnodes',
        '2',
        '--node-rank',
        '2',
        '--master-addr',
        '127.0.0.1',
        '--master-port',
        '29500',
        WORKER,
        'ok',
        out,
      ],
      /^error: --node-rank 2 must be smaller than --nnodes 2/,
    ],
    [
      'a malformed --master-addr',
      (out) => ['--master-addr', 'no@pe', WORKER, 'ok', out],
      /^error: Invalid --master-addr "no@pe": /,
    ],
    [
      '--master-port 0',
      (out) => ['--master-port', '0', WORKER, 'ok', out],
      /^error: Expected --master-port to be an integer from 1 to 65535, got `0` \(number\)$/,
    ],
    [
      '--master-port 65536',
      (out) => ['--master-port', '65536', WORKER, 'ok', out],
      /^error: Expected --master-port to be an integer from 1 to 65535, got `65536` \(number\)$/,
    ],
    [
      'a malformed key=value',
      () => ['train', 'ultralytics.models.yolo.detect.train.DetectionTrainer', 'epochs'],
      /^error: The trainer argument `"epochs"` \(string\) is not `key=value`\./,
    ],
    [
      'a key without a value',
      () => ['train', 'ultralytics.models.yolo.detect.train.DetectionTrainer', 'epochs='],
      /^error: The trainer argument `epochs` has no value\./,
    ],
    [
      'a trainer name that is not module.ClassName',
      () => ['train', 'DetectionTrainer', 'epochs=1'],
      /^error: The trainer `"DetectionTrainer"` \(string\) is not `module\.ClassName`\./,
    ],
    [
      'a --python that does not exist',
      (out) => ['--python', '/no/such/python', WORKER, 'ok', out],
      /^error: The --python "\/no\/such\/python" is not an executable file\./,
    ],
    [
      'a --python without torch',
      (out) => ['--python', '/bin/sh', WORKER, 'ok', out],
      /^error: The --python "\/bin\/sh" did not run as a Python interpreter/,
    ],
  ];

  it.each(cases)('%s', async (_name, args, message) => {
    const s = box();
    const run = await runCli(args(s.out), { env: s.env, cwd: s.dir });
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    const lines = run.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(message);
    expect(listFiles(s.dir)).toEqual([]);
  });

  it('a --python that has no torch names the fix', async () => {
    const s = box();
    // An interpreter that answers as Python 3.11 without torch (a real one would depend on the machine).
    const noTorch = await writeStandInPython(path.join(s.dir, 'bin', 'python3'), {
      torch: null,
      pythonVersion: [3, 11],
    });
    const run = await runCli(['--python', noTorch, WORKER, 'ok', s.out], { env: s.env });
    expect(run.code).toBe(2);
    expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/cannot import torch\. Install PyTorch .*ddprun doctor --fix/);
    expect(listFiles(s.out)).toEqual([]);
  });

  it('--json ends with an error event when the launch cannot run', async () => {
    const s = box();
    const run = await runCli(['--json', ...unreachableMaster('0.5'), '--no-python', 'true'], { env: s.env });
    expect(run.code).toBe(1);
    const events = run.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { event: string; name?: string; message?: string; exitCode?: number });
    expect(events.at(-1)).toMatchObject({ event: 'error', name: 'RendezvousTimeoutError', exitCode: 1 });
    expect(events.at(-1)?.message).toMatch(/^Could not reach the master at 127\.0\.0\.1:9 within/);
  });

  it('says where --redirects without --log-dir puts the log files', async () => {
    const s = box();
    const run = await runCli(['--redirects', '3', '--nproc-per-node', '2', '--no-python', 'echo', 'hi'], {
      env: s.env,
    });
    expect(run.code).toBe(0);
    const dir = /the ranks' log files go to (\S+) \(kept after the run\)/.exec(run.stderr)?.[1];
    expect(dir?.startsWith(path.join(s.dir, 'tmp', 'ddprun-logs-'))).toBe(true);
    expect(readFileSync(path.join(dir as string, 'attempt_0', '1', 'stdout.log'), 'utf8')).toBe('hi\n');
  });
});

describe('ddprun gc', () => {
  it('removes entry files whose launcher is dead and keeps live ones', async () => {
    const s = box();
    const { mkdirSync, writeFileSync } = await import('node:fs');
    const os = await import('node:os');
    const dir = path.join(s.configDir, 'Ultralytics', 'DDP');
    mkdirSync(dir, { recursive: true });
    const header =
      '# Ultralytics Multi-GPU training temp file (should be automatically deleted after use)\n# ddprun-owner: ';
    // pid 2^22 + 1 is above Linux's pid_max: no process can have it.
    writeFileSync(
      path.join(dir, '_temp_deadbeef1.py'),
      `${header}${JSON.stringify({ pid: 4194305, start: null, boot: null, host: os.hostname() })}\n`,
    );
    writeFileSync(
      path.join(dir, '_temp_alive0002.py'),
      `${header}${JSON.stringify({ pid: process.pid, start: null, boot: null, host: os.hostname() })}\n`,
    );
    const run = await runCli(['gc'], { env: s.env });
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(
      `ddprun gc: removed 1 stale temp entry file(s):\n  ${path.join(dir, '_temp_deadbeef1.py')}\nddprun gc: no runs to prune.\n`,
    );
    expect(readdirSync(dir)).toEqual(['_temp_alive0002.py']);
    const again = await runCli(['gc'], { env: s.env });
    expect(again.stdout).toBe('ddprun gc: no stale temp entry files.\nddprun gc: no runs to prune.\n');
  });
  it("--dry-run lists the dead launchers' run folders, the processes a real gc would end and the entry files, doing nothing; --help says so", async () => {
    const s = box();
    const { existsSync, mkdirSync, writeFileSync } = await import('node:fs');
    const { spawn } = await import('node:child_process');
    const os = await import('node:os');
    const { pidAlive } = await import('../helpers/procs.js');
    // A run folder of a dead launcher (pid 2^22 + 1: above pid_max, no process has it), and a rank's child that
    // survived it: it carries the run's mark in its environment, as every process of the run does.
    const tmp = s.env.TMPDIR!;
    const runFolder = path.join(tmp, 'ddprun-4194305-0123456789ab');
    mkdirSync(runFolder, { mode: 0o700 });
    writeFileSync(
      path.join(runFolder, 'owner.json'),
      JSON.stringify({ pid: 4194305, start: null, boot: null, host: os.hostname() }),
    );
    // In a group of its own, as a rank's child is (gc SIGKILLs the group of a marked process).
    const survivor = spawn('sleep', ['600'], {
      env: { DDPRUN_RUN_DIR: runFolder + '/' },
      stdio: 'ignore',
      detached: true,
    });
    try {
      const ddp = path.join(s.configDir, 'Ultralytics', 'DDP');
      mkdirSync(ddp, { recursive: true });
      const entry = path.join(ddp, '_temp_deadbeef1.py');
      writeFileSync(
        entry,
        `# Ultralytics Multi-GPU training temp file (should be automatically deleted after use)\n# ddprun-owner: ${JSON.stringify({ pid: 4194305, start: null, boot: null, host: os.hostname() })}\n`,
      );
      const dry = await runCli(['gc', '--dry-run'], { env: s.env });
      expect(dry.code, dry.stderr).toBe(0);
      expect(dry.stdout).toBe(
        `ddprun gc: would remove 1 stale temp entry file(s):\n  ${entry}\n` +
          `ddprun gc: would remove the run folder ${runFolder} of a dead launcher (pid 4194305), ending 1 of its processes: pid ${survivor.pid} (sleep)\n` +
          'ddprun gc: no runs to prune.\n',
      );
      expect(pidAlive(survivor.pid!)).toBe(true);
      expect(existsSync(runFolder) && existsSync(entry)).toBe(true);
      const help = await runCli(['gc', '--help'], { env: s.env });
      const text = help.stdout.replace(/\s+/g, ' ');
      expect(text).toContain('SIGKILLs the processes that survived it');
      expect(text).toContain('run folder in $TMPDIR');
      expect(text).toContain('from the Ultralytics DDP folder');
      // A real gc does what the dry run said.
      const real = await runCli(['gc'], { env: s.env });
      expect(real.stdout).toContain(
        `removed the run folder ${runFolder} of a dead launcher (pid 4194305); ended 1 of its processes`,
      );
      expect(existsSync(runFolder) || existsSync(entry)).toBe(false);
      expect(pidAlive(survivor.pid!)).toBe(false);
    } finally {
      survivor.kill('SIGKILL');
    }
  });
});
