import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { assertNotContinued, lockForResume, RESUME_LOCK_FILE } from '../../src/store/resume-lock.js';
import { useSandboxes } from '../cli/helpers.js';
import { recordOf, writeRecord } from '../helpers/run-record.js';

// Issue #22 item 3: one resume of a run at a time, and never a run that a resume already continued.

const box = useSandboxes();
const LOCK_MODULE = pathToFileURL(path.resolve('dist/store/resume-lock.js')).href;
const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
});

/** Another process that takes the lock of `dir` and holds it until killed; resolves once it holds it. */
async function holder(dir: string): Promise<ChildProcess> {
  const script = `import { lockForResume } from ${JSON.stringify(LOCK_MODULE)};
lockForResume(${JSON.stringify(dir)}, 'A');
process.stdout.write('locked\\n');
setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`the holder exited (${code})`)));
  });
  return child;
}

const lockPid = (dir: string) =>
  (JSON.parse(readFileSync(path.join(dir, RESUME_LOCK_FILE), 'utf8')) as { pid: number }).pid;

describe('the resume lock of a run folder', () => {
  it('refuses while another live process holds it, names that process, and is taken over once it is gone', async () => {
    const s = box();
    const dir = path.join(s.dir, 'run');
    mkdirSync(dir);
    const other = await holder(dir);
    expect(() => lockForResume(dir, 'A')).toThrow(`The run A is being resumed by ddprun (pid ${other.pid} on `);
    expect(lockPid(dir)).toBe(other.pid);
    const exited = new Promise((resolve) => other.once('exit', resolve));
    other.kill('SIGKILL');
    await exited;
    // Its holder is gone: the lock is stale and taken over.
    const release = lockForResume(dir, 'A');
    expect(lockPid(dir)).toBe(process.pid);
    expect(() => lockForResume(dir, 'A')).toThrow('is being resumed by ddprun');
    release();
    expect(readdirSync(dir)).toEqual([]);
  });

  it('refuses a run that a resume already continued, naming that run, whatever became of it', () => {
    const s = box();
    const A = '20261207-070000-aaaa';
    writeRecord(s.state, A, recordOf(A, { status: 'failed', exitCode: 1 }));
    expect(() => assertNotContinued(A, { stateDir: s.state })).not.toThrow();
    const from = { id: A, checkpoint: '/exp/weights/last.pt', epoch: 1 };
    const B = '20261207-070100-bbbb';
    writeRecord(s.state, B, recordOf(B, { status: 'failed', exitCode: 1, resumedFrom: from }));
    expect(() => assertNotContinued(A, { stateDir: s.state })).toThrow(
      `The run ${A} was already resumed by the run ${B}, which ended failed: resume that run instead (\`ddprun resume ${B}\`). Nothing was started.`,
    );
    const C = '20261207-070200-cccc';
    writeRecord(s.state, C, recordOf(C, { resumedFrom: from }));
    expect(() => assertNotContinued(A, { stateDir: s.state })).toThrow(
      `The run ${A} was already resumed by the run ${C}, which completed it.`,
    );
    expect(existsSync(path.join(s.state, 'runs', A, RESUME_LOCK_FILE))).toBe(false);
  });

  it('follows a chain of resumes to its end: names the run that completed it, or trained it to its last epoch (#24 item 5)', () => {
    const s = box();
    const A = '20261207-080000-aaaa';
    const B = '20261207-080100-bbbb';
    const C = '20261207-080200-cccc';
    writeRecord(s.state, A, recordOf(A, { status: 'failed', exitCode: 1 }));
    const from = (id: string, epoch: number) => ({ id, checkpoint: '/exp/weights/last.pt', epoch });
    // B trained epochs 2 and 3 of 3, then failed (in the final validation): its events say so.
    const dirB = writeRecord(s.state, B, recordOf(B, { status: 'failed', exitCode: 1, resumedFrom: from(A, 1) }));
    const epoch = (n: number) =>
      JSON.stringify({ v: 1, t: '2026-12-07T08:01:0' + n + 'Z', event: 'epoch', epoch: n, epochs: 3, metrics: {} });
    writeFileSync(path.join(dirB, 'events.jsonl'), `${epoch(2)}\n${epoch(3)}\n`);
    expect(() => assertNotContinued(A, { stateDir: s.state })).toThrow(
      `The run ${A} was already resumed by the run ${B}, which trained it to its last epoch (3/3) before it ended failed: there is nothing left to resume. Nothing was started.`,
    );
    // B stopped at epoch 2 instead, and C, resuming B, completed the chain: A is refused naming C.
    writeFileSync(path.join(dirB, 'events.jsonl'), `${epoch(2)}\n`);
    expect(() => assertNotContinued(A, { stateDir: s.state })).toThrow(
      `resume that run instead (\`ddprun resume ${B}\`)`,
    );
    writeRecord(s.state, C, recordOf(C, { resumedFrom: from(B, 2) }));
    expect(() => assertNotContinued(A, { stateDir: s.state })).toThrow(
      `The run ${A} was already resumed by the run ${B}, then by the run ${C}, which completed it. Nothing was started.`,
    );
    expect(() => assertNotContinued(B, { stateDir: s.state })).toThrow(
      `The run ${B} was already resumed by the run ${C}, which completed it.`,
    );
    expect(() => assertNotContinued(C, { stateDir: s.state })).not.toThrow();
  });
});
