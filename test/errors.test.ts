import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import * as errors from '../src/errors.js';
import { DdprunError, FileSystemError, fsStep, TorchProbeError, UsageError } from '../src/errors.js';
import * as slurmErrors from '../src/slurm/errors.js';
import { SlurmNodelistError } from '../src/slurm/errors.js';
import { LogFiles } from '../src/launch/run/log-files.js';
import { probeTorch, parseTorchVersion } from '../src/python/find-python.js';
import { expandSlurmNodelist } from '../src/slurm/index.js';
import { shellQuote } from '../src/slurm/shell-quote.js';
import { pyFloat } from '../src/ultralytics/index.js';
import { getUserConfigDir } from '../src/ultralytics/config-dir.js';
import { prepareRankFolders, RankFolderError } from '../src/launch/run/rank-folders.js';
import type { RankPlan } from '../src/model/types.js';
import { ensureBuilt, ROOT, runCli, useSandboxes, WORKER } from './cli/helpers.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ddprun-errors-'));
  dirs.push(dir);
  return dir;
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

/** Every error class ddprun exports, with one instance each. */
function everyErrorClass(): [string, DdprunError][] {
  const classes = { ...errors, ...slurmErrors } as Record<string, unknown>;
  return Object.entries(classes)
    .filter(([, value]) => typeof value === 'function' && value.prototype instanceof Error)
    .map(([name, cls]) => {
      const instance = Reflect.construct(cls as new (...args: unknown[]) => DdprunError, [
        'message',
        { command: [], path: '/x', action: 'a' },
        'c',
      ]);
      return [name, instance];
    });
}

describe('errors', () => {
  const box = useSandboxes();
  it('are all DdprunErrors with a stable, distinct ERR_DDPRUN_ code named after their class', () => {
    const all = everyErrorClass();
    expect(all.map(([name]) => name).sort()).toEqual([
      'DdprunError',
      'FileSystemError',
      'NoFreePortError',
      'PythonNotFoundError',
      'RendezvousTimeoutError',
      'SlurmCommandError',
      'SlurmEnvError',
      'SlurmNodelistError',
      'SlurmWaitTimeoutError',
      'TorchProbeError',
      'UnsafePathError',
      'UsageError',
    ]);
    for (const [name, error] of all) {
      expect(error).toBeInstanceOf(DdprunError);
      expect(error.name).toBe(name);
      expect(error.code).toMatch(/^ERR_DDPRUN(_[A-Z_]+)?$/);
    }
    const codes = all.map(([, error]) => error.code);
    expect(new Set(codes).size).toBe(codes.length);
  });

  it('each code is in the error table (docs/library.md), with the class that carries it', () => {
    const readme = readFileSync(path.join(ROOT, 'docs', 'library.md'), 'utf8');
    for (const [name, error] of everyErrorClass())
      expect(readme).toMatch(new RegExp(`^\\| \`${error.code}\` \\| \`${name}\` \\|`, 'm'));
  });

  it('a log folder blocked by a file is reported with the path and what was being done', () => {
    const logDir = tempDir();
    writeFileSync(path.join(logDir, '0'), 'a file where rank 0 needs a folder');
    const folder = path.join(logDir, '0');
    expect(thrown(() => new LogFiles(logDir).open(path.join(folder, 'stdout.log')))).toMatchObject({
      name: 'FileSystemError',
      code: 'ERR_DDPRUN_FS',
      path: folder,
      action: 'write rank logs',
      systemCode: 'ENOTDIR',
      message: `cannot write rank logs under ${folder}: it is a file, not a folder (ENOTDIR)`,
    });
  });

  it('fsStep wraps system errors of sync and async steps, and passes other errors through', async () => {
    const file = path.join(tempDir(), 'missing', 'f');
    expect(thrown(() => fsStep('read the file', file, () => readFileSync(file)))).toMatchObject({
      name: 'FileSystemError',
      message: `Cannot read the file ${JSON.stringify(file)}: no such file or directory (ENOENT).`,
      path: file,
      action: 'read the file',
      systemCode: 'ENOENT',
    });
    const { readFile } = await import('node:fs/promises');
    await expect(fsStep('read the file', file, () => readFile(file))).rejects.toBeInstanceOf(FileSystemError);
    const usage = new UsageError('bad');
    expect(() =>
      fsStep('x', file, () => {
        throw usage;
      }),
    ).toThrow(usage);
  });

  it('expandSlurmNodelist rejects a malformed list with SlurmNodelistError, a UsageError', () => {
    const error = thrown(() => expandSlurmNodelist('node[1-')) as SlurmNodelistError;
    expect(error).toBeInstanceOf(SlurmNodelistError);
    expect(error).toBeInstanceOf(UsageError);
    expect(error).toMatchObject({ code: 'ERR_DDPRUN_SLURM_NODELIST', list: 'node[1-' });
    expect(() => expandSlurmNodelist(3 as unknown as string)).toThrow(UsageError);
  });

  it('probing a Python that does not run rejects with TorchProbeError naming it', async () => {
    const python = path.join(tempDir(), 'no-such-python');
    const error = (await probeTorch(python).catch((e: unknown) => e)) as TorchProbeError;
    expect(error).toBeInstanceOf(TorchProbeError);
    expect(error).toMatchObject({ code: 'ERR_DDPRUN_TORCH_PROBE', python });
    expect(() => parseTorchVersion('nightly')).toThrow(
      new UsageError('Cannot parse the torch version "nightly"', 'torchVersion'),
    );
  });

  it('a rank folder that cannot be created is a FileSystemError (ERR_DDPRUN_FS), not the bare base code', () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'attempt_0'), 'a file where the rank folders go');
    const rank = { rank: 0, errorFile: path.join(dir, 'attempt_0', '0', 'error.json') } as unknown as RankPlan;
    const error = thrown(() => prepareRankFolders([rank])) as RankFolderError;
    expect(error).toBeInstanceOf(RankFolderError);
    expect(error).toBeInstanceOf(FileSystemError);
    expect(error).toMatchObject({
      name: 'RankFolderError',
      code: 'ERR_DDPRUN_FS',
      path: path.join(dir, 'attempt_0', '0'),
      systemCode: 'ENOTDIR',
    });
  });

  it('no writable user config directory is a FileSystemError (ERR_DDPRUN_FS) naming the preferred one', () => {
    const dir = tempDir();
    const blocker = path.join(dir, 'not-a-dir');
    writeFileSync(blocker, '');
    const sub = `ddprun-errors-${process.pid}`;
    const others = [path.join('/tmp', sub), path.join(process.cwd(), sub)];
    for (const file of others) writeFileSync(file, ''); // the /tmp and <cwd> fallbacks blocked too
    try {
      const error = thrown(() => getUserConfigDir(sub, { XDG_CONFIG_HOME: blocker }));
      expect(error).toBeInstanceOf(FileSystemError);
      expect(error).toMatchObject({ code: 'ERR_DDPRUN_FS', path: path.join(blocker, sub) });
    } finally {
      for (const file of others) rmSync(file, { force: true });
    }
  });

  it('ddprun --detach with a run store it cannot write fails with ERR_DDPRUN_FS, exit 1, nothing started', async () => {
    ensureBuilt();
    const s = box();
    const store = path.join(s.dir, 'store-is-a-file');
    writeFileSync(store, '');
    const run = await runCli(['--json', '-d', '--nproc-per-node', '1', WORKER], {
      env: { ...s.env, DDPRUN_STATE_DIR: store },
    });
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout.trim())).toMatchObject({
      event: 'error',
      name: 'FileSystemError',
      code: 'ERR_DDPRUN_FS',
      exitCode: 1,
    });
    expect(readFileSync(store, 'utf8')).toBe('');
  });

  it('argument errors of public helpers are UsageErrors, not TypeErrors', () => {
    expect(() => shellQuote('a\0b')).toThrow(UsageError);
    expect(() => pyFloat('1' as unknown as number)).toThrow(UsageError);
  });
});
