import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, ROOT, useSandboxes, type Sandbox } from './cli/helpers.js';

// What a user gets from `npm pack` / `npm install`: installed in a fresh folder, outside this repository.

const run = promisify(execFile);
const NPM_FLAGS = ['--no-audit', '--no-fund', '--loglevel=error'];

interface Out {
  code: number;
  stdout: string;
  stderr: string;
}

async function exec(file: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv): Promise<Out> {
  try {
    const { stdout, stderr } = await run(file, args, { cwd, env, maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number | string; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw error;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** npm with the real npm cache (what `npm ci` filled), its logs kept in the sandbox: offline first, then the registry. */
async function npmInstall(box: Sandbox, cwd: string, spec: string): Promise<Out> {
  const env = { ...process.env, npm_config_logs_dir: path.join(box.dir, 'npm-logs') };
  const args = ['install', ...NPM_FLAGS, spec];
  const offline = await exec('npm', [...args, '--offline'], cwd, env);
  return offline.code === 0 ? offline : exec('npm', [...args, '--prefer-offline'], cwd, env);
}

function freshProject(box: Sandbox, name: string): string {
  const dir = path.join(box.dir, name);
  mkdirSync(dir);
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name, private: true }));
  return dir;
}

describe('the packed tarball', { timeout: 300_000 }, () => {
  const box = useSandboxes();
  let tarball = '';
  let files: string[] = [];

  beforeAll(async () => {
    ensureBuilt();
    const out = path.join(ROOT, 'node_modules', '.cache', 'ddprun-pack');
    mkdirSync(out, { recursive: true });
    // dist/ is built (npm test builds first): pack what is there, as `npm publish` would after `prepare`.
    const { stdout } = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', out], {
      cwd: ROOT,
    });
    const [info] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
    tarball = path.join(out, info!.filename);
    files = info!.files.map((f) => f.path).sort();
  });

  it('ships the build, the licence and the README, and nothing that points at files it does not ship', () => {
    expect(files).toContain('LICENSE');
    expect(files).toContain('README.md');
    expect(files).toContain('dist/index.js');
    expect(files).toContain('dist/cli/main.js');
    expect(files.filter((f) => f.endsWith('.map'))).toEqual([]);
    expect(files.filter((f) => !/^(dist\/.+\.(js|d\.ts)|LICENSE|README\.md|package\.json)$/.test(f))).toEqual([]);
  });

  it('installs in a fresh folder where import, require, the subpaths, --help and doctor work', async () => {
    const s = box();
    const app = freshProject(s, 'app');
    const install = await npmInstall(s, app, tarball);
    expect(install.stderr).toBe('');
    expect(install.code).toBe(0);

    const env = { ...s.env, npm_config_logs_dir: path.join(s.dir, 'npm-logs') };
    const esm = await exec(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import * as root from 'ddprun'; import * as u from 'ddprun/ultralytics'; import * as s from 'ddprun/slurm';
         console.log(JSON.stringify([typeof root.launch, typeof u.generateDdpCommand, typeof s.expandSlurmNodelist]))`,
      ],
      app,
      env,
    );
    expect(esm).toEqual({ code: 0, stdout: '["function","function","function"]\n', stderr: '' });

    writeFileSync(
      path.join(app, 'use.cjs'),
      `const { launch, UsageError } = require('ddprun');
       const { toPythonLiteral } = require('ddprun/ultralytics');
       const { renderSbatchScript } = require('ddprun/slurm');
       console.log(typeof launch, typeof UsageError, toPythonLiteral({ a: [1, true] }), typeof renderSbatchScript);`,
    );
    const cjs = await exec(process.execPath, ['use.cjs'], app, env);
    expect(cjs).toEqual({ code: 0, stdout: "function function {'a': [1, True]} function\n", stderr: '' });

    // The package's internals stay internal.
    const deep = await exec(process.execPath, ['-e', "require('ddprun/dist/launch/run/launch.js')"], app, env);
    expect(deep.code).toBe(1);
    expect(deep.stderr).toContain('ERR_PACKAGE_PATH_NOT_EXPORTED');

    const help = await exec('npx', ['--no-install', 'ddprun', '--help'], app, env);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Launch and supervise distributed PyTorch training/);
    expect(help.stdout).toContain('ddprun [options] script.py [script args…]');

    const doctor = await exec('npx', ['--no-install', 'ddprun', 'doctor'], app, env);
    expect(doctor.stdout).toMatch(/^python +ok +\S+/m);
    expect(doctor.stdout).toMatch(/^orphan guard +ok +setpriv --pdeathsig/m);
    expect(doctor.stdout).toContain('Ready to launch.');
    expect(doctor.code).toBe(0);
  });

  it('installed from a clone without its dev dependencies, says what to run instead of failing in tsc', async () => {
    const s = box();
    const clone = path.join(s.dir, 'clone');
    const tracked = (
      await run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT })
    ).stdout
      .split('\0')
      .filter(Boolean);
    for (const file of tracked) cpSync(path.join(ROOT, file), path.join(clone, file), { recursive: true });
    const app = freshProject(s, 'app');
    const install = await npmInstall(s, app, clone);
    expect(install.code).not.toBe(0);
    expect(install.stderr).toContain(
      `ddprun: cannot build ${path.join(clone, 'dist')}: TypeScript is not installed in ${clone}.`,
    );
  });
});
