// torchrun's command line read as torchrun reads it: spellings, prefixes, -r/-t, PET_* variables, `--` after the
// script, and what --dry-run says about flags the native backend ignores. Pure parsing plus --dry-run runs.
import { beforeAll, describe, expect, it } from 'vitest';
import type { CliCommand } from '../../src/cli/args.js';
import { parseCli } from '../../src/cli/commands/index.js';
import { TORCHRUN_FLAGS, petName, preprocessTorchrunArgv } from '../../src/cli/torchrun-compat.js';
import { UsageError } from '../../src/errors.js';
import { ensureBuilt, listFiles, runCli, useSandboxes } from '../cli/helpers.js';

function launch(argv: string[], env: Record<string, string> = {}): Extract<CliCommand, { kind: 'launch' }> {
  const command = parseCli(argv, env);
  if (command.kind !== 'launch') throw new Error(`expected a launch, got ${command.kind}`);
  return command;
}

describe('torchrun flags, as argparse reads them', () => {
  it('accepts every flag of torchrun 2.11 in both spellings', () => {
    for (const flag of TORCHRUN_FLAGS) {
      for (const spelling of [flag.long, flag.long.replace(/-/g, '_').replace(/^__/, '--')]) {
        const sample: Record<string, string> = {
          '--nnodes': '1',
          '--nproc-per-node': '2',
          '--max-restarts': '0',
          '--monitor-interval': '1',
          '--start-method': 'spawn',
          '--redirects': '3',
          '--tee': '3',
          '--local-ranks-filter': '0',
          '--node-rank': '0',
          '--master-port': '29500',
          '--shutdown-timeout': '5',
          '--rdzv-conf': 'join_timeout=5',
          '--rdzv-endpoint': 'localhost:29400',
          '--logs-specs': 'default',
        };
        const args = flag.value ? [`${spelling}=${sample[flag.long] ?? 'x'}`] : [spelling];
        const entry = flag.long === '--no-python' ? ['true'] : flag.long === '--module' ? ['pkg.mod'] : ['train.py'];
        expect(() => launch([...args, ...entry]), spelling).not.toThrow();
      }
    }
  });

  it('reads unique prefixes, -r/-t and --redirect as argparse does', () => {
    const c = launch(['--nproc=2', '--max_restart=1', '-r', '3', '-t1', '--redirect=2', 'train.py']);
    expect(c.options).toMatchObject({ nprocPerNode: 2, maxRestarts: 1, redirects: 'stderr', tee: 'stdout' });
    // --ru is torchrun's --run-path even though ddprun also has --run-id.
    expect(launch(['--ru', 'train.py']).options.entry).toEqual({ script: 'train.py', args: [] });
    expect(() => parseCli(['--ma=1', 'train.py'])).toThrow(UsageError);
    expect(() => parseCli(['--ma=1', 'train.py'])).toThrow(/--master-addr, --master-port, --max-restarts/);
  });

  it('drops a `--` right after the script, and only that one', () => {
    expect(launch(['train.py', '--', '--lr', '--', 'x']).options.entry).toEqual({
      script: 'train.py',
      args: ['--lr', '--', 'x'],
    });
  });

  it('takes PET_<FLAG> variables for flags the command line left out; the command line wins', () => {
    expect(petName('--nproc-per-node')).toBe('PET_NPROC_PER_NODE');
    const c = launch(['test_script.sh'], { PET_NPROC_PER_NODE: '4', PET_NO_PYTHON: '1', PET_ROLE: 'trainer' });
    expect(c.options).toMatchObject({ nprocPerNode: 4, role: 'trainer', entry: { command: 'test_script.sh' } });
    expect(launch(['--nproc-per-node=2', 'train.py'], { PET_NPROC_PER_NODE: '4' }).options.nprocPerNode).toBe(2);
    expect(launch(['train.py'], { PET_NO_PYTHON: '0' }).options.entry).toEqual({ script: 'train.py', args: [] });
    expect(() => parseCli(['x.sh'], { PET_NO_PYTHON: '1', PET_MODULE: '1' })).toThrow(UsageError);
    expect(() => parseCli(['x.sh'], { PET_NO_PYTHON: 'yes' })).toThrow(/PET_NO_PYTHON/);
  });

  it('maps --role, --rdzv-id, --standalone, --shutdown-timeout, --rdzv-conf and PYTHON_EXEC', () => {
    expect(launch(['--role', 'trainer', '--rdzv_id=job7', 'train.py']).options).toMatchObject({
      role: 'trainer',
      runId: 'job7',
    });
    const a = launch(['--standalone', 'train.py']).options.runId;
    const b = launch(['--standalone', 'train.py']).options.runId;
    expect(a).toMatch(/^[0-9a-f-]{36}$/);
    expect(a).not.toBe(b);
    expect(launch(['--shutdown-timeout=5', 'train.py']).options.gracePeriodMs).toBe(5000);
    expect(launch(["--rdzv-conf='join_timeout=5,last_call_timeout=1'", 'train.py']).options).toMatchObject({
      rdzvTimeoutMs: 5000,
      rdzvConf: { join_timeout: '5', last_call_timeout: '1' },
    });
    expect(launch(['train.py'], { PYTHON_EXEC: '/opt/py' }).options.python).toBe('/opt/py');
    expect(launch(['--python', '/a/py', 'train.py'], { PYTHON_EXEC: '/opt/py' }).options.python).toBe('/a/py');
  });

  it('chooses the torchrun backend for c10d with several nodes and no --node-rank, and for MIN:MAX', () => {
    const c10d = launch(['--nnodes', '2', '--rdzv-backend', 'c10d', '--rdzv-endpoint', 'h:29400', 't.py']);
    expect(c10d.options.backend).toBe('torchrun');
    expect(c10d.output.notes?.join('\n')).toMatch(/backend: torchrun \(chosen for --rdzv-backend c10d/);
    expect(launch(['--nnodes', '1:2', 't.py']).options).toMatchObject({ backend: 'torchrun', rdzvBackend: 'c10d' });
    // A node rank given: the static recipe stays native.
    expect(launch(['--nnodes', '2', '--node-rank', '1', '--master-addr', 'h', 't.py']).options.backend).toBe(undefined);
  });

  it('keeps the tokens after the script untouched', () => {
    const pre = preprocessTorchrunArgv(
      ['--nproc', '2', 't.py', '--nproc', '-r'],
      {},
      ['--nproc-per-node'],
      new Set(['--nproc-per-node']),
    );
    expect(pre.tokens).toEqual(['--nproc-per-node', '2', 't.py', '--nproc', '-r']);
  });
});

describe('--dry-run shows what ddprun does with torchrun flags', () => {
  const box = useSandboxes();
  beforeAll(() => ensureBuilt());

  it('lists ignored flags and PET_ values, runs nothing, writes nothing', async () => {
    const s = box();
    const result = await runCli(
      ['--monitor_interval=1', '--start-method=spawn', '--numa-binding=node', '--dry-run', '--no-python', 'true'],
      { env: { ...s.env, PET_ROLE: 'trainer' }, cwd: s.dir },
    );
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('ignored: --monitor-interval');
    expect(result.stdout).toContain('ignored: --start-method');
    expect(result.stdout).toContain('ignored: --numa-binding');
    expect(result.stdout).toContain('from the environment: PET_ROLE=trainer');
    expect(result.stdout).toContain('ROLE_NAME=trainer');
    expect(listFiles(s.dir).filter((f) => !f.startsWith('home/'))).toEqual([]);
  });

  it('refuses a --logs-specs name torchrun would not find (exit 2, nothing run); `default` is taken', async () => {
    const s = box();
    for (const [args, env] of [
      [['--logs-specs=mine'], {}],
      [['--logs_spec', 'mine'], {}],
      [[], { PET_LOGS_SPECS: 'mine' }],
    ] as const) {
      const result = await runCli([...args, '--no-python', 'touch', 'ran'], { env: { ...s.env, ...env }, cwd: s.dir });
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr).toContain(
        'error: --logs-specs "mine" is not a logs spec ddprun knows: torchrun looks the name up in the `torchrun.logs_specs` entry points, whose only built-in is `default`, and ddprun writes its own log layout. Use `--logs-specs default` or leave the flag out.',
      );
      expect(listFiles(s.dir).filter((f) => !f.startsWith('home/'))).toEqual([]);
    }
    const ok = await runCli(['--logs-specs=default', '--no-python', 'touch', 'ran'], { env: s.env, cwd: s.dir });
    expect(ok.code, ok.stderr).toBe(0);
    expect(listFiles(s.dir)).toContain('ran');
  });

  it('refuses TORCHELASTIC_ENABLE_FILE_TIMER=1 on the native backend, before anything runs', async () => {
    const s = box();
    const result = await runCli(['--no-python', 'true'], {
      env: { ...s.env, TORCHELASTIC_ENABLE_FILE_TIMER: '1' },
      cwd: s.dir,
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/TORCHELASTIC_ENABLE_FILE_TIMER=1 needs torchrun's FileTimerServer/);
  });
});
