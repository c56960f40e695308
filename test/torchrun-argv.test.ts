import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../src/errors.js';
import { TORCHRUN_REDIRECT_FIX, torchrunArgv, torchrunEntryArgv } from '../src/launch/torchrun/argv.js';
import type { ResolvedOptions, StdSelection } from '../src/model/types.js';
import { words } from './cli/helpers.js';
import { backendEntryArgv, resolvedOptions } from './helpers/resolved.js';
import { torchPython } from './multinode/torch-python.js';

const WORKER = fileURLToPath(new URL('./fixtures/netns_allreduce.py', import.meta.url));

const TORCHRUN = ['/usr/bin/python3', '-m', 'torch.distributed.run'];
const FIXED = ['/usr/bin/python3', '-c', TORCHRUN_REDIRECT_FIX];

describe('torchrunEntryArgv', () => {
  it('writes a script, a module and a command the way torchrun takes them', () => {
    expect(torchrunEntryArgv({ script: 'train.py', args: ['--lr', '0.1'] })).toEqual(['train.py', '--lr', '0.1']);
    expect(torchrunEntryArgv({ module: 'pkg.train', args: ['-x'] })).toEqual(['-m', 'pkg.train', '-x']);
    expect(torchrunEntryArgv({ command: 'bash', args: ['run.sh'] })).toEqual(['--no_python', 'bash', 'run.sh']);
    expect(torchrunEntryArgv({ script: 'train.py' })).toEqual(['train.py']);
  });
});

describe('torchrunArgv', () => {
  it.each<[string, Partial<ResolvedOptions>, string, string[]]>([
    [
      'a static single-node job onto the underscore flags every torchrun accepts',
      {},
      'train.py --lr 0.1',
      [
        '--nnodes 1 --nproc_per_node 2 --rdzv_backend static --rdzv_id none --rdzv_conf timeout=900',
        '--node_rank 0 --master_addr 127.0.0.1 --master_port 29500 --max_restarts 0 train.py --lr 0.1',
      ],
    ],
    [
      'a static multi-node job: node rank, master address and port, restarts, run id',
      {
        minNodes: 2,
        maxNodes: 2,
        nodeRank: 1,
        masterAddr: '169.254.7.1',
        masterPort: 29400,
        maxRestarts: 3,
        rdzvId: 'job7',
        rdzvTimeoutMs: 30_500,
      },
      '-m pkg.train',
      [
        '--nnodes 2 --nproc_per_node 2 --rdzv_backend static --rdzv_id job7 --rdzv_conf timeout=31',
        '--node_rank 1 --master_addr 169.254.7.1 --master_port 29400 --max_restarts 3 -m pkg.train',
      ],
    ],
    [
      'an elastic c10d job: MIN:MAX nodes, endpoint from the master address, join_timeout, no node rank',
      {
        minNodes: 1,
        maxNodes: 2,
        rdzvBackend: 'c10d',
        rdzvId: 'job9',
        rdzvTimeoutMs: 60_000,
        masterAddr: 'node0',
        masterPort: 29400,
      },
      'train.py',
      [
        '--nnodes 1:2 --nproc_per_node 2 --rdzv_backend c10d --rdzv_id job9 --rdzv_conf join_timeout=60',
        '--rdzv_endpoint node0:29400 --max_restarts 0 train.py',
      ],
    ],
  ])('maps %s', (_, options, entry, lines) => {
    expect(torchrunArgv(resolvedOptions(options), words(entry))).toEqual([...TORCHRUN, ...lines.flatMap(words)]);
  });

  it('tells c10d whether this node hosts the store when the caller knows', () => {
    const c10d = resolvedOptions({ rdzvBackend: 'c10d', rdzvTimeoutMs: 5_000 });
    const conf = (argv: string[]) => argv[argv.indexOf('--rdzv_conf') + 1];
    expect(conf(torchrunArgv(c10d, ['t.py'], { rdzvHost: true }))).toBe('join_timeout=5,is_host=1');
    expect(conf(torchrunArgv(c10d, ['t.py'], { rdzvHost: false }))).toBe('join_timeout=5,is_host=0');
    expect(conf(torchrunArgv(c10d, ['t.py']))).toBe('join_timeout=5');
    expect(conf(torchrunArgv(resolvedOptions({ rdzvTimeoutMs: 5_000 }), ['t.py'], { rdzvHost: true }))).toBe(
      'timeout=5',
    );
  });

  it('prefers an explicit rendezvous endpoint, and brackets an IPv6 master address', () => {
    expect(torchrunArgv(resolvedOptions({ rdzvBackend: 'c10d', rdzvEndpoint: 'etcd0:2379' }), ['t.py'])).toContain(
      'etcd0:2379',
    );
    expect(torchrunArgv(resolvedOptions({ rdzvBackend: 'c10d', masterAddr: 'fd00::1' }), ['t.py'])).toContain(
      '[fd00::1]:29500',
    );
    const staticArgv = torchrunArgv(resolvedOptions({ masterAddr: 'fd00::1' }), ['t.py']);
    expect(staticArgv[staticArgv.indexOf('--master_addr') + 1]).toBe('[fd00::1]');
  });

  it('writes log dir, redirects and tee as one digit when all ranks agree, else as a rank map', () => {
    const argv = torchrunArgv(
      resolvedOptions({ logDir: '/tmp/logs', redirects: ['all', 'all'], tee: ['stdout', 'none'] }),
      ['t.py'],
    );
    expect(argv.slice(argv.indexOf('--log_dir'), -1)).toEqual([
      '--log_dir',
      '/tmp/logs',
      '--redirects',
      '3',
      '--tee',
      '0:1',
    ]);
    const mixed = torchrunArgv(resolvedOptions({ nprocPerNode: 3, tee: ['stderr', 'all', 'stdout'] }), ['t.py']);
    expect(mixed[mixed.indexOf('--tee') + 1]).toBe('0:2,1:3,2:1');
    expect(mixed).not.toContain('--redirects');
  });

  it('refuses a per-rank tee with more than 10 ranks per node', () => {
    const tee = Array.from({ length: 12 }, (_, i): StdSelection => (i === 11 ? 'stdout' : 'none'));
    expect(() => torchrunArgv(resolvedOptions({ nprocPerNode: 12, tee }), ['t.py'])).toThrow(
      new UsageError(
        'torchrun cannot take a per-rank `tee` with more than 10 ranks per node (its `0:1,1:2` form has one-digit ranks); use one setting for all ranks, or the native backend.',
        'tee',
      ),
    );
  });

  it('passes --local_ranks_filter on torch >= 2.2 only, and only when it hides a rank', () => {
    expect(torchrunArgv(resolvedOptions({ localRanksFilter: new Set([0, 1]) }), ['t.py'])).not.toContain(
      '--local_ranks_filter',
    );
    const argv = torchrunArgv(resolvedOptions({ nprocPerNode: 4, localRanksFilter: new Set([3, 0]) }), ['t.py']);
    expect(argv.slice(argv.indexOf('--local_ranks_filter'), argv.indexOf('--local_ranks_filter') + 2)).toEqual([
      '--local_ranks_filter',
      '0,3',
    ]);
    const none = torchrunArgv(resolvedOptions({ localRanksFilter: new Set() }), ['t.py']);
    expect(none[none.indexOf('--local_ranks_filter') + 1]).toBe('2');
    expect(
      torchrunArgv(resolvedOptions({ torchVersion: '2.1.2', localRanksFilter: new Set([0]) }), ['t.py']),
    ).not.toContain('--local_ranks_filter');
  });

  it('runs torchrun through the redirect fix on torch < 2.0 unless Python is older than 3.11', () => {
    const old = resolvedOptions({ torchVersion: '1.13.0a0' });
    expect(torchrunArgv(old, ['t.py']).slice(0, 3)).toEqual(FIXED);
    expect(torchrunArgv(old, ['t.py'], { pythonVersion: [3, 11] }).slice(0, 3)).toEqual(FIXED);
    expect(torchrunArgv(old, ['t.py'], { pythonVersion: [3, 10] }).slice(0, 3)).toEqual(TORCHRUN);
    expect(
      torchrunArgv(resolvedOptions({ torchVersion: '2.0.1' }), ['t.py'], { pythonVersion: [3, 11] }).slice(0, 3),
    ).toEqual(TORCHRUN);
  });

  it('uses torch.distributed.launch --use_env before torch 1.9', () => {
    expect(
      torchrunArgv(
        resolvedOptions({ torchVersion: '1.8.1', minNodes: 2, maxNodes: 2, nodeRank: 1, masterAddr: '10.0.0.1' }),
        ['t.py', '--x'],
      ),
    ).toEqual([
      ...words('/usr/bin/python3 -m torch.distributed.launch --use_env'),
      ...words('--nnodes 2 --node_rank 1 --nproc_per_node 2 --master_addr 10.0.0.1 --master_port 29500'),
      ...words('t.py --x'),
    ]);
  });

  it('refuses what torch.distributed.launch cannot do before torch 1.9', () => {
    expect(() => torchrunArgv(resolvedOptions({ torchVersion: '1.8.1', maxRestarts: 2 }), ['t.py'])).toThrow(
      new UsageError(
        'torch 1.8.1 has no torchrun (torch.distributed.run came in 1.9), and its torch.distributed.launch has no `maxRestarts`; use the native backend or upgrade torch.',
        'maxRestarts',
      ),
    );
  });

  it('refuses a node range with a static rendezvous', () => {
    expect(() => torchrunArgv(resolvedOptions({ minNodes: 1, maxNodes: 2 }), ['t.py'])).toThrow(
      new UsageError(
        "A static rendezvous needs a fixed number of nodes, got `nnodes` 1:2; use `rdzvBackend: 'c10d'` for an elastic range.",
        'nnodes',
      ),
    );
  });

  it('needs the interpreter, and the port of a static rendezvous', () => {
    expect(() => torchrunArgv(resolvedOptions({ python: undefined }), ['t.py'])).toThrow(
      'torchrunArgv needs `resolved.python`',
    );
    expect(() => torchrunArgv(resolvedOptions({ masterPort: undefined }), ['t.py'])).toThrow(
      'torchrunArgv needs `resolved.masterPort`',
    );
  });
});

const found = await torchPython();

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

describe.skipIf(found.skip !== undefined)(
  `torchrunArgv with a real torch${found.skip ? ` (skipped: ${found.skip})` : ''}`,
  () => {
    it('runs a 1-node 2-rank c10d job on 127.0.0.1 whose ranks all-reduce to 3', async () => {
      const version = await import('../src/python/find-python.js').then((m) => m.probeTorch(found.python!));
      const port = await freePort();
      const argv = torchrunArgv(
        resolvedOptions({
          python: found.python,
          torchVersion: version.version,
          rdzvBackend: 'c10d',
          rdzvId: 'argv-test',
          masterPort: port,
          rdzvTimeoutMs: 60_000,
        }),
        backendEntryArgv({ script: WORKER }),
        { pythonVersion: version.pythonVersion },
      );
      const child = spawn(argv[0]!, argv.slice(1), {
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
        env: { ...process.env, OMP_NUM_THREADS: '1' },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const timer = setTimeout(() => child.pid && process.kill(-child.pid, 'SIGKILL'), 90_000);
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve)).finally(() =>
        clearTimeout(timer),
      );

      expect(code, stderr).toBe(0);
      const lines = stdout.trim().split('\n').sort();
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(/^allreduce rank=0 local_rank=0 world=2 sum=3 /);
      expect(lines[1]).toMatch(/^allreduce rank=1 local_rank=1 world=2 sum=3 /);
    });
  },
);
