import { describe, expect, it } from 'vitest';
import { parseCli, type CliCommand } from '../../src/cli/args.js';
import { normalizeFlagSpelling } from '../../src/cli/argv.js';
import { usageLine } from '../../src/cli/cli.js';
import { torchInstallPlan } from '../../src/cli/doctor-fix.js';
import { exitCodeForError, exitCodeForResult } from '../../src/exit-codes.js';
import { parseStdSpec } from '../../src/cli/flags.js';
import { literalToJs, smartValue } from '../../src/python/smart-value.js';
import { trainerLaunchOptions } from '../../src/cli/trainer-mode.js';
import { parseKeyValues } from '../../src/cli/train-args.js';
import { PythonNotFoundError, UsageError } from '../../src/errors.js';
import type { LaunchResult, RootCause } from '../../src/model/types.js';
import { pyFloat } from '../../src/python/literal.js';
import { words } from './helpers.js';

function launch(argv: string[]): Extract<CliCommand, { kind: 'launch' }> {
  const command = parseCli(argv);
  if (command.kind !== 'launch') throw new Error(`expected a launch, got ${command.kind}`);
  return command;
}

function usage(argv: string[]): string {
  try {
    parseCli(argv);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error('expected a UsageError');
}

describe('parseCli: torchrun flags', () => {
  it('accepts both spellings of every torchrun flag, and --opt=value', () => {
    const dash = launch([
      ...words('--nproc-per-node 2 --nnodes 2 --node-rank 1 --master-addr 10.0.0.1 --master-port 29501'),
      ...words('--max-restarts 3 --run-id job --log-dir logs --local-ranks-filter 0,1 train.py'),
    ]);
    const underscore = launch([
      ...words('--nproc_per_node=2 --nnodes=2 --node_rank 1 --master_addr=10.0.0.1 --master_port 29501'),
      ...words('--max_restarts=3 --run_id job --log_dir=logs --local_ranks_filter 0,1 train.py'),
    ]);
    expect(underscore).toEqual(dash);
    expect(dash.options).toMatchObject({
      nprocPerNode: 2,
      nnodes: 2,
      nodeRank: 1,
      masterAddr: '10.0.0.1',
      masterPort: 29501,
      maxRestarts: 3,
      runId: 'job',
      logDir: 'logs',
      localRanksFilter: [0, 1],
    });
  });

  it('passes everything after the script to it untouched, underscores and --help included', () => {
    const command = launch([
      '--nproc-per-node',
      '2',
      'train.py',
      '--lr',
      '0.1',
      '--nproc_per_node',
      '4',
      '--help',
      '-m',
    ]);
    expect(command.options.entry).toEqual({
      script: 'train.py',
      args: ['--lr', '0.1', '--nproc_per_node', '4', '--help', '-m'],
    });
    expect(command.options.nprocPerNode).toBe(2);
  });

  it('reads -m as "the script is a module" and --no-python as "the script is a command"', () => {
    expect(launch(['-m', 'pkg.train', '--x']).options.entry).toEqual({ module: 'pkg.train', args: ['--x'] });
    expect(launch(['--no_python', 'echo', '-n', 'hi']).options.entry).toEqual({ command: 'echo', args: ['-n', 'hi'] });
  });

  it('types nproc-per-node words, nnodes ranges, seconds, and the redirect syntax', () => {
    expect(launch(['--nproc-per-node', 'auto', 'a.py']).options.nprocPerNode).toBe('auto');
    expect(launch(['--nproc-per-node', 'GPU', 'a.py']).options.nprocPerNode).toBe('gpu');
    expect(launch(['--nnodes', '1:4', '--backend', 'torchrun', 'a.py']).options).toMatchObject({
      nnodes: '1:4',
      backend: 'torchrun',
    });
    expect(launch(['--grace-period', '2.5', '--rdzv-timeout', '60', 'a.py']).options).toMatchObject({
      gracePeriodMs: 2500,
      rdzvTimeoutMs: 60_000,
    });
    expect(launch(['--redirects', '3', '--tee', '0:1,1:2', 'a.py']).options).toMatchObject({
      redirects: 'all',
      tee: { 0: 'stdout', 1: 'stderr' },
    });
    expect(parseStdSpec('--tee', '0')).toBe('none');
  });

  it('maps --standalone to one node on localhost, with c10d on localhost:0 for the torchrun backend', () => {
    expect(launch(['--standalone', 'a.py']).options).toMatchObject({ nnodes: 1, nodeRank: 0, masterAddr: '127.0.0.1' });
    expect(launch(['--standalone', '--backend', 'torchrun', 'a.py']).options).toMatchObject({
      rdzvBackend: 'c10d',
      rdzvEndpoint: 'localhost:0',
    });
    expect(usage(['--standalone', '--nnodes', '2', 'a.py'])).toBe(
      '--standalone runs a single node, but --nnodes is 2. Drop one of them.',
    );
  });

  it('separates the output flags from the launch options, and never lets launch() print', () => {
    const command = launch(['--dry-run', '--json', '--quiet', 'a.py']);
    expect(command.output).toEqual({ dryRun: true, json: true, quiet: true });
    expect(command.options).toMatchObject({ console: false, handleSignals: true });
  });

  it('recognises subcommands only as the first argument', () => {
    expect(parseCli(['doctor', '--fix'])).toEqual({ kind: 'doctor', fix: true });
    expect(parseCli(['gc'])).toEqual({ kind: 'gc', dryRun: false, maxAgeDays: 30, keep: 200 });
    expect(parseCli(['gc', '--dry-run', '--max-age', '7', '--keep', '10'])).toEqual({
      kind: 'gc',
      dryRun: true,
      maxAgeDays: 7,
      keep: 10,
    });
    expect(parseCli(['ps', '-a', '--json'])).toEqual({ kind: 'ps', all: true, json: true });
    expect(parseCli(['logs', '-f', '--rank', '1', '--tail', '5', '2026'])).toEqual({
      kind: 'logs',
      id: '2026',
      follow: true,
      rank: 1,
      tail: 5,
      json: false,
    });
    expect(parseCli(['show', '2026', '--json'])).toEqual({ kind: 'show', id: '2026', json: true });
    expect(parseCli(['stop', '--kill', '--timeout', '5', '2026'])).toEqual({
      kind: 'stop',
      id: '2026',
      kill: true,
      timeoutMs: 5000,
    });
    expect(() => parseCli(['show'])).toThrow(
      '`ddprun show` needs a run id (or a unique prefix of one), a run name, or `last`. See `ddprun ps --all` for the runs.',
    );
    expect(() => parseCli(['logs', '--tail', 'x', '2026'])).toThrow(
      '--tail expects an integer, e.g. `2`, got `"x"` (string).',
    );
    expect(launch(['-d', 'a.py'])).toMatchObject({ detach: true });
    expect(launch(['--no-record', 'a.py']).options.record).toBe(false);
    expect(() => parseCli(['-d', '--dry-run', 'a.py'])).toThrow('--detach and --dry-run exclude each other');
    expect(launch(['./ps']).options.entry).toEqual({ script: './ps', args: [] });
    expect(launch(['--nproc-per-node', '2', 'train', 'x']).options.entry).toEqual({ script: 'train', args: ['x'] });
    expect(launch(['./train']).options.entry).toEqual({ script: './train', args: [] });
  });

  it('prints help with the exit codes, and the version', () => {
    const help = parseCli(['--help']);
    expect(help.kind).toBe('print');
    expect((help as { text: string }).text).toContain('Exit codes:');
    expect((help as { text: string }).text).toContain('128+N');
    expect((parseCli(['train', '--help']) as { text: string }).text).toContain('module.ClassName');
    expect((parseCli(['--version']) as { text: string }).text).toMatch(/^\d+\.\d+\.\d+/);
  });
});

describe('parseCli: bad input is a one-line UsageError', () => {
  // The messages that name the value they refuse, for each refused value.
  const notRanks = (value: string) =>
    `--nproc-per-node expects a number of ranks (e.g. \`2\`) or \`auto\`, \`gpu\`, \`cpu\`, got \`"${value}"\` (string).`;
  const notClassName = (trainer: string) =>
    `The trainer \`"${trainer}"\` (string) is not \`module.ClassName\`. Name the class with its module, e.g. \`ddprun train ultralytics.models.yolo.detect.DetectionTrainer model=yolo11n.pt\`.`;
  const notKeyValue = (arg: string) =>
    `The trainer argument \`"${arg}"\` (string) is not \`key=value\`. Write it like \`epochs=3\` or \`device=0,1\`.`;

  it.each([
    [['--bogus', 'a.py'], "Unknown option '--bogus'. See `ddprun --help`."],
    [
      ['--nproc-per-nodes', '2', 'a.py'],
      "Unknown option '--nproc-per-nodes' (Did you mean --nproc-per-node?). See `ddprun --help`.",
    ],
    [
      [],
      'Missing the script to run. Usage: `ddprun [options] script.py [args…]` (or `-m module`, `--no-python command`); see `ddprun --help`.',
    ],
    [['--nproc-per-node', 'abc', 'a.py'], notRanks('abc')],
    [['--nproc-per-node', '1e9', 'a.py'], notRanks('1e9')],
    [['--master-port', 'http', 'a.py'], '--master-port expects an integer, e.g. `2`, got `"http"` (string).'],
    [
      ['--nnodes', '2:x', 'a.py'],
      '--nnodes expects a number of nodes (e.g. `2`) or `MIN:MAX` (e.g. `1:4`), got `"2:x"` (string).',
    ],
    [
      ['--tee', '4', 'a.py'],
      '--tee expects `0`–`3` (0 none, 1 stdout, 2 stderr, 3 both) or per local rank like `0:1,1:2`, got `"4"` (string).',
    ],
    [
      ['--backend', 'slurm', 'a.py'],
      "Option '--backend <backend>' argument 'slurm' is invalid. Allowed choices are native, torchrun. See `ddprun --help`.",
    ],
    [['--master-port'], "Option '--master-port <port>' argument missing. See `ddprun --help`."],
    [['-m', '--no-python', 'x'], '-m/--module and --no-python exclude each other. Keep one of them.'],
    [
      ['train'],
      'Missing the trainer. Usage: `ddprun train [options] module.ClassName key=value…`, e.g. `ddprun train ultralytics.models.yolo.detect.DetectionTrainer model=yolo11n.pt epochs=3`.',
    ],
    [['train', 'DetectionTrainer'], notClassName('DetectionTrainer')],
    [['train', 'pkg.1Bad'], notClassName('pkg.1Bad')],
    [['train', 'pkg.T', 'epochs'], notKeyValue('epochs')],
    [['train', 'pkg.T', 'epochs='], 'The trainer argument `epochs` has no value. Write it like `epochs=VALUE`.'],
    [['train', 'pkg.T', '1x=3'], notKeyValue('1x=3')],
    [['doctor', 'now'], '`ddprun doctor` takes no arguments, got `now`. See `ddprun doctor --help`.'],
  ])('%j', (argv, message) => {
    expect(usage(argv)).toBe(message);
    expect(message).not.toContain('\n');
  });
});

describe('normalizeFlagSpelling', () => {
  it('stops at the first positional and at --, and skips the values of value flags', () => {
    const values = new Set(['--run-id', '--master-addr']);
    expect(normalizeFlagSpelling(['--run_id', '--odd_name', '--master_addr=a_b', 's.py', '--x_y'], values)).toEqual([
      '--run-id',
      '--odd_name',
      '--master-addr=a_b',
      's.py',
      '--x_y',
    ]);
    expect(normalizeFlagSpelling(['--no_python', '--', '--a_b'], values)).toEqual(['--no-python', '--', '--a_b']);
  });
});

describe('smartValue: typed like the yolo CLI', () => {
  it.each([
    ['3', { type: 'int', value: 3n }],
    ['-1', { type: 'int', value: -1n }],
    ['0x10', { type: 'int', value: 16n }],
    ['1_000', { type: 'int', value: 1000n }],
    ['0.01', { type: 'float', value: 0.01 }],
    ['1.0', { type: 'float', value: 1 }],
    ['1e-3', { type: 'float', value: 0.001 }],
    ['.5', { type: 'float', value: 0.5 }],
    ['True', { type: 'bool', value: true }],
    ['false', { type: 'bool', value: false }],
    ['TRUE', { type: 'bool', value: true }],
    ['none', { type: 'none' }],
    ['None', { type: 'none' }],
    ['yolo11n.pt', { type: 'str', value: 'yolo11n.pt' }],
    ['runs/exp', { type: 'str', value: 'runs/exp' }],
    ['inf', { type: 'str', value: 'inf' }],
    ['01', { type: 'str', value: '01' }],
    ["'quoted'", { type: 'str', value: 'quoted' }],
    [
      '[0,1]',
      {
        type: 'list',
        items: [
          { type: 'int', value: 0n },
          { type: 'int', value: 1n },
        ],
      },
    ],
    [
      '0,1',
      {
        type: 'tuple',
        items: [
          { type: 'int', value: 0n },
          { type: 'int', value: 1n },
        ],
      },
    ],
    [
      '(640, 480)',
      {
        type: 'tuple',
        items: [
          { type: 'int', value: 640n },
          { type: 'int', value: 480n },
        ],
      },
    ],
    ['(5)', { type: 'int', value: 5n }],
    ['[true]', { type: 'str', value: '[true]' }],
    [
      '{"a": [None, 1.5]}',
      {
        type: 'dict',
        entries: [
          [
            { type: 'str', value: 'a' },
            { type: 'list', items: [{ type: 'none' }, { type: 'float', value: 1.5 }] },
          ],
        ],
      },
    ],
    ['1+2', { type: 'str', value: '1+2' }],
  ])('%s', (text, expected) => {
    expect(smartValue(text)).toEqual(expected);
  });

  it('becomes the values the entry file encodes: floats as pyFloat, tuples as lists, big ints as bigint', () => {
    const args = parseKeyValues([
      'lr0=1.0',
      'epochs',
      '=',
      '3',
      'device=0,1',
      'big=12345678901234567890',
      '--name=exp,',
    ]);
    expect(Object.fromEntries([...args].map(([k, v]) => [k, literalToJs(v)]))).toEqual({
      lr0: pyFloat(1),
      epochs: 3,
      device: [0, 1],
      big: 12345678901234567890n,
      name: 'exp',
    });
  });
});

describe('trainerLaunchOptions', () => {
  const trainer = (args: string[]) => ({ module: 'pkg.mod', className: 'T', args: parseKeyValues(args) });

  it('makes the trainer entry from the typed key=value arguments, and leaves the devices to the launch', () => {
    const options = trainerLaunchOptions({ env: { A: '1' } }, trainer(['device=-1,-1', 'lr0=0.5']));
    expect(options.env).toEqual({ A: '1' });
    expect(options.entry).toEqual({
      trainer: { module: 'pkg.mod', className: 'T', args: { device: [-1, -1], lr0: pyFloat(0.5) } },
    });
  });
});

describe('exit codes', () => {
  const rootCause = (exitCode: number | null, signal: NodeJS.Signals | null): RootCause => ({
    rank: 1,
    localRank: 1,
    pid: 1,
    host: 'h',
    time: '',
    exitCode,
    signal,
    traceback: '',
    source: 'none',
    message: '',
  });
  const result = (over: Partial<LaunchResult>): LaunchResult => ({
    exitCode: 0,
    signal: null,
    ranks: [],
    attempts: 1,
    portRetries: 0,
    rootCause: undefined,
    durationMs: 0,
    ...over,
  });

  it('0 on success, the rank’s code on failure, 128+N for a rank killed by N, 128+N when ddprun was stopped by N', () => {
    expect(exitCodeForResult(result({}))).toBe(0);
    expect(exitCodeForResult(result({ exitCode: 3, rootCause: rootCause(3, null) }))).toBe(3);
    expect(exitCodeForResult(result({ exitCode: 137, rootCause: rootCause(null, 'SIGKILL') }))).toBe(137);
    expect(exitCodeForResult(result({ exitCode: 130, signal: 'SIGINT' }))).toBe(130);
    expect(exitCodeForResult(result({ exitCode: 143, signal: 'SIGTERM' }))).toBe(143);
  });

  it('2 for usage errors, 1 for anything else', () => {
    expect(exitCodeForError(new UsageError('x'))).toBe(2);
    expect(exitCodeForError(new PythonNotFoundError('x', []))).toBe(1);
    expect(exitCodeForError(new Error('x'))).toBe(1);
  });

  it('names the flags the user typed in launch()’s messages', () => {
    expect(usageLine('Expected the `nprocPerNode` option to be an integer from 1 to 4096, got `0` (number)')).toBe(
      'Expected --nproc-per-node to be an integer from 1 to 4096, got `0` (number)',
    );
    expect(usageLine('`nodeRank` 2 must be smaller than `nnodes` 2 (node ranks are 0 … 1).')).toBe(
      '--node-rank 2 must be smaller than --nnodes 2 (node ranks are 0 … 1).',
    );
  });
});

describe('doctor --fix: how to install PyTorch', () => {
  const debian = 'ID=debian\nVERSION_ID="12"\n';
  const has =
    (...commands: string[]) =>
    (command: string) =>
      commands.includes(command);
  it('uses apt-get on Debian/Ubuntu as root, sudo otherwise, and prints a command elsewhere', () => {
    expect(torchInstallPlan({ platform: 'linux', osRelease: debian, isRoot: true, has: has('apt-get') })).toEqual({
      command: ['apt-get', 'install', '-y', 'python3-torch'],
      shown: 'apt-get install -y python3-torch',
      apt: true,
    });
    expect(
      torchInstallPlan({
        platform: 'linux',
        osRelease: 'ID=ubuntu\nID_LIKE=debian\n',
        isRoot: false,
        has: has('apt-get', 'sudo'),
      }).command,
    ).toEqual(['sudo', 'apt-get', 'install', '-y', 'python3-torch']);
    expect(torchInstallPlan({ platform: 'linux', osRelease: debian, isRoot: false, has: has('apt-get') })).toEqual({
      command: undefined,
      shown: 'apt-get install -y python3-torch  (as root)',
      apt: true,
    });
    expect(torchInstallPlan({ platform: 'linux', osRelease: 'ID=fedora\n', isRoot: true, has: has() }).shown).toBe(
      'sudo dnf install -y python3-torch',
    );
    expect(torchInstallPlan({ platform: 'darwin', osRelease: '', isRoot: false, has: has() })).toEqual({
      command: undefined,
      shown: 'python3 -m pip install torch',
      apt: false,
    });
  });
});
