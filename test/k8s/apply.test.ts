import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, ensureBuilt } from '../cli/helpers.js';

ensureBuilt();

describe('ddprun k8s --apply', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('without kubectl on PATH: exit 1, a clear error, nothing printed, submitted or written', () => {
    const cwd = mkdtempSync(path.join(os.tmpdir(), 'ddprun-k8s-apply-'));
    const bin = mkdtempSync(path.join(os.tmpdir(), 'ddprun-k8s-bin-'));
    dirs.push(cwd, bin);
    const run = spawnSync(
      process.execPath,
      [CLI, 'k8s', '--image', 'i', '--nodes', '2', '--apply', '--job-name', 'j', 'train.py'],
      // An empty PATH folder: no kubectl there, whatever this machine has installed.
      { cwd, encoding: 'utf8', env: { ...process.env, PATH: bin }, timeout: 30_000 },
    );
    expect(run.status).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('kubectl is not on PATH');
    expect(run.stderr).toContain('Nothing was submitted');
    expect(readdirSync(cwd)).toEqual([]);
    expect(readdirSync(bin)).toEqual([]);
  });

  it('with --json, the error event names KubectlNotFoundError and its code', () => {
    const bin = mkdtempSync(path.join(os.tmpdir(), 'ddprun-k8s-bin-'));
    dirs.push(bin);
    const run = spawnSync(process.execPath, [CLI, 'k8s', '--image', 'i', '--apply', '--json', 'train.py'], {
      encoding: 'utf8',
      env: { ...process.env, PATH: bin },
      timeout: 30_000,
    });
    expect(run.status).toBe(1);
    expect(JSON.parse(run.stdout)).toMatchObject({
      event: 'error',
      name: 'KubectlNotFoundError',
      code: 'ERR_DDPRUN_KUBECTL_NOT_FOUND',
      exitCode: 1,
    });
  });
});
