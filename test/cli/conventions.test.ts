import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { useColor } from '../../src/cli/colors.js';
import { table } from '../../src/cli/format.js';
import { readGlobalFlags } from '../../src/cli/global-flags.js';
import { SUBCOMMANDS } from '../../src/cli/argv.js';
import { ROOT, runCli, useSandboxes } from './helpers.js';

const box = useSandboxes();

describe('CLI conventions', () => {
  it('`ddprun help` and `ddprun help <command>` print what --help prints', async () => {
    const { env } = box();
    for (const [help, flag] of [
      [['help'], ['--help']],
      [
        ['help', 'train'],
        ['train', '--help'],
      ],
      [
        ['help', 'doctor'],
        ['doctor', '--help'],
      ],
      [
        ['help', 'slurm'],
        ['slurm', '--help'],
      ],
    ] as const) {
      const [a, b] = await Promise.all([runCli(help, { env }), runCli(flag, { env })]);
      expect(a.code).toBe(0);
      expect(a.stdout).toBe(b.stdout);
      expect(a.stdout.length).toBeGreaterThan(100);
    }
    const bad = await runCli(['help', 'nope'], { env });
    expect(bad).toMatchObject({
      code: 2,
      stdout: '',
      stderr: `error: \`ddprun help\` takes one of ${SUBCOMMANDS.join(', ')}, got \`nope\`. See \`ddprun help\`.\n`,
    });
  });

  it('`ddprun -v` prints the version', async () => {
    const { version } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(await runCli(['-v'], { env: box().env })).toMatchObject({ code: 0, stdout: `${version}\n` });
  });

  it('--verbose prints the stack of an error; without it, one line', async () => {
    const { env, dir } = box();
    const quiet = await runCli(['--nproc-per-node', '2', 'missing.py'], { env, cwd: dir });
    const verbose = await runCli(['--nproc-per-node', '2', '--verbose', 'missing.py'], { env, cwd: dir });
    const line = `error: The script "missing.py" does not exist or cannot be read (looked for ${path.join(dir, 'missing.py')}).\n`;
    expect(quiet).toMatchObject({ code: 2, stderr: line });
    expect(verbose.code).toBe(2);
    expect(verbose.stderr.startsWith(`${line}UsageError: The script "missing.py"`)).toBe(true);
    expect(verbose.stderr).toMatch(/\n {4}at .+\((file:\/\/)?\/.+\.js:\d+:\d+\)\n/);
  });

  it('--verbose after the script belongs to the script', () => {
    expect(readGlobalFlags(['--nproc-per-node', '2', 'train.py', '--verbose'])).toEqual({
      argv: ['--nproc-per-node', '2', 'train.py', '--verbose'],
      verbose: false,
    });
    expect(readGlobalFlags(['--verbose', '-m', 'pkg.train', '--verbose'])).toEqual({
      argv: ['-m', 'pkg.train', '--verbose'],
      verbose: true,
    });
    expect(readGlobalFlags(['slurm', '--nodes', '2', '--verbose', 'x.py', '--verbose'])).toEqual({
      argv: ['slurm', '--nodes', '2', 'x.py', '--verbose'],
      verbose: true,
    });
    expect(readGlobalFlags(['train', '--verbose', 'm.C', 'verbose=1'])).toEqual({
      argv: ['train', 'm.C', 'verbose=1'],
      verbose: true,
    });
  });

  it('colours a terminal unless NO_COLOR is non-empty, and any stream when FORCE_COLOR is set', () => {
    const tty = { isTTY: true };
    const pipe = { isTTY: false };
    expect(useColor(tty, {})).toBe(true);
    expect(useColor(pipe, {})).toBe(false);
    expect(useColor(tty, { NO_COLOR: '1' })).toBe(false);
    expect(useColor(tty, { NO_COLOR: '' })).toBe(true);
    expect(useColor(pipe, { FORCE_COLOR: '1' })).toBe(true);
    expect(useColor(pipe, { FORCE_COLOR: '' })).toBe(true);
    expect(useColor(tty, { FORCE_COLOR: '0' })).toBe(false);
    expect(useColor(tty, { FORCE_COLOR: 'false' })).toBe(false);
    expect(useColor(pipe, { FORCE_COLOR: '1', NO_COLOR: '1' })).toBe(true);
  });

  it('doctor colours its output when FORCE_COLOR is set, even through a pipe', async () => {
    const { env } = box();
    const plain = await runCli(['doctor'], { env });
    const forced = await runCli(['doctor'], { env: { ...env, FORCE_COLOR: '1' } });
    expect(plain.stdout).not.toContain('\u001b[');
    expect(forced.stdout).toContain('\u001b[32mok\u001b[39m');
  });

  it('doctor --json prints one JSON object with every check, and nothing else on stdout', async () => {
    const { env } = box();
    const run = await runCli(['doctor', '--json'], { env });
    const report = JSON.parse(run.stdout) as { ok: boolean; checks: { name: string; level: string }[] };
    expect(run.stdout.trim().split('\n')).toHaveLength(1);
    expect(report.ok).toBe(run.code === 0);
    expect(report.checks.map((c) => c.name)).toEqual(
      expect.arrayContaining(['python', 'torch', 'CUDA', 'backends', 'GPUs', 'DDP dir', 'free port', 'orphan guard']),
    );
    expect(report.checks.every((c) => c.name !== '' && ['ok', 'warn', 'fail', 'info'].includes(c.level))).toBe(true);
  });

  it('aligns table columns by terminal width: CJK characters take two columns, colour codes none', () => {
    expect(
      table([
        ['id', 'value'],
        ['日本語', 'x'],
        ['\u001b[32mok\u001b[39m', 'y'],
      ]),
    ).toBe(['id      value', '日本語  x', '\u001b[32mok\u001b[39m      y'].join('\n'));
  });
});
