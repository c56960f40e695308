import { spawn } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, ROOT, useSandboxes } from './cli/helpers.js';
import { torchPython } from './helpers/python.js';

// The README's quick start is what a new user types first: this runs its commands as written, so it cannot rot.

const box = useSandboxes();
const python = await torchPython();
if (!python && process.env.CI) throw new Error('CI: no Python with torch was found');

/** The lines of the first ```sh block under `## Quick start` in README.md. */
function quickStartLines(): string[] {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Quick start\n');
  expect(start).toBeGreaterThan(0);
  const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(start))![1]!;
  return block.split('\n').filter((line) => line.trim() !== '');
}

interface Ran {
  line: string;
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs one line with bash, as a user's shell would. */
function shell(line: string, cwd: string, env: NodeJS.ProcessEnv): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', line], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ line, code, stdout, stderr }));
  });
}

describe.skipIf(!python)('README quick start', () => {
  it('runs each command after the set-up as written, in a clone, and each exits 0', async () => {
    const lines = quickStartLines();
    // The set-up: `npm ci` (node_modules and dist/, which the suite has already) and `npm link` (ddprun on PATH: a
    // link to dist/cli/main.js in npm's global bin folder, made here in the sandbox's own bin folder).
    expect(lines.slice(0, 2)).toEqual(['npm ci', 'npm link']);
    const commands = lines.slice(2);
    expect(commands.length).toBeGreaterThanOrEqual(3);
    const s = box();
    const clone = path.join(s.dir, 'clone');
    cpSync(path.join(ROOT, 'examples'), path.join(clone, 'examples'), { recursive: true });
    const bin = path.join(s.dir, 'bin');
    mkdirSync(bin);
    chmodSync(CLI, 0o755); // as npm link (and npm install) makes a package's bin executable
    symlinkSync(CLI, path.join(bin, 'ddprun'));
    const env = { ...s.env, PATH: `${bin}:${process.env.PATH ?? ''}` };
    const ran: Ran[] = [];
    for (const line of commands) ran.push(await shell(line, clone, env));
    expect(ran.map(({ line, code, stderr }) => ({ line, code, stderr: code === 0 ? '' : stderr }))).toEqual(
      commands.map((line) => ({ line, code: 0, stderr: '' })),
    );
    // What the quick start says they do: the demo trains and saves its checkpoint, and `ps --all` lists that run.
    const demo = ran.find(({ line }) => line.includes('examples/train_ddp.py'))!;
    expect(demo.stdout).toMatch(/^\[rank0\]:epoch 3\/3 loss \d/m);
    expect(existsSync(path.join(clone, 'runs', 'demo', 'checkpoint.pt'))).toBe(true);
    const ps = ran.find(({ line }) => line.startsWith('ddprun ps'))!;
    expect(ps.stdout).toMatch(/succeeded .*examples\/train_ddp\.py --epochs 3/);
  });
});
