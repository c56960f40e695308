import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PythonNotFoundError, UsageError } from '../../src/errors.js';
import { findPython, parseTorchVersion, probeTorch, pythonCandidates } from '../../src/python/find-python.js';
import { TORCH_SKIP_REASON, torchPython, writeStandInPython } from '../helpers/python.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'ddprun-findpy-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('findPython', () => {
  it('prefers the option, then DDPRUN_PYTHON, then a virtualenv, then conda, then PATH', async () => {
    const make = (name: string) => writeStandInPython(path.join(dir, name, 'bin', 'python'), { torch: '2.4.0' });
    const [option, ddp, venv, conda] = await Promise.all(['opt', 'ddp', 'venv', 'conda'].map(make));
    const onPath = await writeStandInPython(path.join(dir, 'pathdir', 'python3'), { torch: '2.4.0' });
    const env = {
      DDPRUN_PYTHON: ddp,
      VIRTUAL_ENV: path.join(dir, 'venv'),
      CONDA_PREFIX: path.join(dir, 'conda'),
      PATH: path.join(dir, 'pathdir'),
    };
    expect(await findPython({ python: option, env })).toMatchObject({ python: option, source: 'option' });
    expect(await findPython({ env })).toMatchObject({ python: ddp, source: 'DDPRUN_PYTHON' });
    expect(await findPython({ env: { ...env, DDPRUN_PYTHON: '' } })).toMatchObject({
      python: venv,
      source: 'VIRTUAL_ENV',
    });
    expect(await findPython({ env: { ...env, DDPRUN_PYTHON: '', VIRTUAL_ENV: '' } })).toMatchObject({
      python: conda,
      source: 'CONDA_PREFIX',
    });
    expect(await findPython({ env: { PATH: path.join(dir, 'pathdir') } })).toMatchObject({
      python: onPath,
      source: 'PATH',
      pythonVersion: [3, 8],
    });
  });

  it('skips interpreters without torch and falls through to the next one on PATH', async () => {
    const without = await writeStandInPython(path.join(dir, 'a', 'python3'), { torch: null });
    const withTorch = await writeStandInPython(path.join(dir, 'b', 'python3'), { torch: '1.13.0a0' });
    const found = await findPython({
      env: { PATH: [path.dirname(without), path.dirname(withTorch)].join(path.delimiter) },
    });
    expect(found).toMatchObject({ python: withTorch, source: 'PATH' });
    expect(
      pythonCandidates({ PATH: [path.dirname(without), path.dirname(withTorch)].join(path.delimiter) }).slice(0, 2),
    ).toEqual([
      { python: without, source: 'PATH' },
      { python: withTorch, source: 'PATH' },
    ]);
  });

  it('refuses an explicit interpreter without torch, saying how to install it', async () => {
    const without = await writeStandInPython(path.join(dir, 'c', 'python'), { torch: null });
    const error = await findPython({ python: without, env: {} }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toBe(
      `The \`python\` option ${JSON.stringify(without)} cannot import torch. Install PyTorch for one of them (Debian/Ubuntu: \`apt-get install -y python3-torch\`, or \`ddprun doctor --fix\`; elsewhere \`pip install torch\`), or name an interpreter with --python / DDPRUN_PYTHON.`,
    );
  });

  it('lists every interpreter tried when none has torch (or, where a system Python has torch, falls back to it)', async () => {
    const without = await writeStandInPython(path.join(dir, 'd', 'python3'), { torch: null });
    const outcome = await findPython({ env: { PATH: path.dirname(without) } }).catch((e: unknown) => e);
    if (outcome instanceof PythonNotFoundError) {
      expect(outcome.tried[0]).toEqual({ python: without, reason: 'no torch' });
      expect(outcome.message).toContain(`No Python interpreter with torch was found. Tried:\n  ${without}: no torch\n`);
    } else {
      // This machine's /usr/bin/python3 has Debian's torch: the well-known system interpreters come last.
      expect(outcome).toMatchObject({ source: 'system' });
    }
  });

  it('finds the real interpreter with torch and probes its torch', async (ctx) => {
    const python = await torchPython();
    if (!python) return ctx.skip(TORCH_SKIP_REASON);
    const info = await probeTorch(python);
    expect(info.version).toMatch(/^\d+\.\d+/);
    expect([info.major, info.minor]).toEqual(parseTorchVersion(info.version));
    expect(info.gloo).toBe(true);
    expect(await probeTorch(python)).toBe(info); // cached per process
  });
});

describe('parseTorchVersion', () => {
  it('reads major and minor from release, local and dev versions', () => {
    expect(parseTorchVersion('1.13.0a0')).toEqual([1, 13]);
    expect(parseTorchVersion('2.11.0+cu128')).toEqual([2, 11]);
    expect(parseTorchVersion('2.6.0.dev20250101')).toEqual([2, 6]);
    expect(() => parseTorchVersion('banana')).toThrow('Cannot parse the torch version "banana"');
  });
});
