import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { processIdentity } from '../../src/os/process-identity.js';
import { Appender } from '../../src/store/appender.js';
import { writeJsonAtomicSync } from '../../src/store/json-file.js';
import type { RunRecord } from '../../src/store/types.js';
import { runCli, useSandboxes, type Sandbox } from '../cli/helpers.js';
import { pidAlive } from '../helpers/procs.js';
import { recordOf, writeRecord } from '../helpers/run-record.js';

// Issue #22 item 1: the run store against another local user (the tests run as root; the other user is `nobody`).

const box = useSandboxes();
const ID = '20261207-071500-f0f0';
const isRoot = process.getuid?.() === 0;
if (!isRoot && process.env.CI) throw new Error('CI: these tests need root (to act as root against the user nobody)');

const victims: ChildProcess[] = [];
afterEach(() => {
  for (const victim of victims.splice(0)) victim.kill('SIGKILL');
});

/** A process of root's that a forged record names as its launcher: it must outlive every refused command. */
function victim(): { pid: number; startTime: number | null; bootId: string | null } {
  const child = spawn('sleep', ['600'], { stdio: 'ignore' });
  victims.push(child);
  const me = processIdentity(child.pid);
  return { pid: child.pid!, startTime: me.start, bootId: me.boot };
}

/** Runs `sh -c script sh ...args` as the user nobody, with `input` on stdin; fails the test when it fails. */
function asNobody(script: string, args: string[], input = ''): void {
  const run = spawnSync('runuser', ['-u', 'nobody', '--', 'sh', '-c', script, 'sh', ...args], {
    input,
    encoding: 'utf8',
  });
  expect(run.status, run.stderr).toBe(0);
}

/** `runs/<id>/run.json` (and any other files), written by nobody into `runs` (which nobody may write). */
function forgeAsNobody(runs: string, record: RunRecord, files: Record<string, string> = {}): string {
  const dir = path.join(runs, record.id);
  asNobody('mkdir -m 700 "$1" && cat > "$1/run.json"', [dir], JSON.stringify(record));
  for (const [name, text] of Object.entries(files)) asNobody('cat > "$1"', [path.join(dir, name)], text);
  return dir;
}

/** Two stores another user could write into: one whose state dir is nobody's, one of ours whose runs/ is 0777. */
function hostileStores(s: Sandbox): { name: string; env: NodeJS.ProcessEnv; runs: string }[] {
  chmodSync(s.dir, 0o755); // others may traverse the sandbox, as a home directory
  const shared = path.join(s.dir, 'shared');
  mkdirSync(shared);
  chmodSync(shared, 0o755);
  spawnSync('chown', ['nobody', shared]);
  asNobody('mkdir -m 755 "$1/runs"', [shared]);
  const ours = path.join(s.dir, 'ours');
  mkdirSync(path.join(ours, 'runs'), { recursive: true, mode: 0o755 });
  chmodSync(path.join(ours, 'runs'), 0o777);
  return [
    { name: "a state dir of nobody's", env: { ...s.env, DDPRUN_STATE_DIR: shared }, runs: path.join(shared, 'runs') },
    { name: 'a runs/ that others may write', env: { ...s.env, DDPRUN_STATE_DIR: ours }, runs: path.join(ours, 'runs') },
  ];
}

describe.skipIf(!isRoot)('the run store against another user (as root, with the user nobody)', () => {
  it('stop and stacks refuse a record in a folder that is not ours: the process it names is never signalled', async () => {
    const s = box();
    for (const store of hostileStores(s)) {
      const target = victim();
      const record = recordOf(ID, {
        status: 'running',
        endedAt: undefined,
        exitCode: undefined,
        launcher: target,
        options: { gracePeriodMs: 1000, insight: { stackDumps: true } },
      });
      forgeAsNobody(store.runs, record);
      for (const command of [
        ['stop', ID],
        ['stop', '--kill', ID],
        ['stacks', ID],
      ]) {
        const run = await runCli(command, { env: store.env });
        expect(run.code, `${store.name}: ${command.join(' ')}: ${run.stderr}`).toBe(1);
        expect(run.stderr).toContain(
          `Refusing to ${command[0] === 'stop' ? 'stop' : 'dump the stacks of'} the run ${ID}`,
        );
        expect(run.stderr).toContain('Nothing was done');
      }
      expect(pidAlive(target.pid), store.name).toBe(true);
    }
  });

  it('stop never signals a launcher it cannot verify: a record without a start time names any pid', async () => {
    const s = box();
    const target = victim();
    const record = recordOf(ID, {
      status: 'running',
      endedAt: undefined,
      exitCode: undefined,
      launcher: { pid: target.pid, startTime: null, bootId: target.bootId },
      options: { gracePeriodMs: 1000, insight: { stackDumps: true } },
    });
    writeRecord(s.state, ID, record); // our own, private store: only the identity is missing
    const stop = await runCli(['stop', ID], { env: s.env });
    expect(stop.code, stop.stderr).toBe(2);
    expect(stop.stderr).toContain(
      `its record names no start time or boot for pid ${target.pid}, so ddprun cannot tell that pid ${target.pid} is still its launcher. Nothing was signalled.`,
    );
    const stacks = await runCli(['stacks', ID], { env: s.env });
    expect(stacks.code, stacks.stderr).toBe(2);
    expect(stacks.stderr).toContain('Nothing was signalled');
    expect(pidAlive(target.pid)).toBe(true);
  });

  it("resume refuses a record in a folder that is not ours: nobody's python, trainer, env and cwd never run", async () => {
    const s = box();
    for (const store of hostileStores(s)) {
      // nobody's "python": it would leave a mark when run (the torch probe runs the interpreter first).
      const mark = path.join(s.dir, `ran-${store.name.length}`);
      const evil = path.join(s.dir, `evil-${store.name.length}.sh`);
      writeFileSync(evil, `#!/bin/sh\ntouch '${mark}'\nexec /usr/bin/python3 "$@"\n`, { mode: 0o755 });
      const saveDir = path.join(s.dir, `exp-${store.name.length}`);
      mkdirSync(path.join(saveDir, 'weights'), { recursive: true });
      writeFileSync(path.join(saveDir, 'weights', 'last.pt'), 'x');
      const record = recordOf(ID, {
        status: 'failed',
        exitCode: 1,
        startedAt: new Date(Date.now() - 60_000).toISOString(),
        cwd: s.dir,
        options: {
          entry: { trainer: { module: 'evil', className: 'Trainer', args: { epochs: 3, device: 'cpu' } } },
          backend: 'native',
          nprocPerNode: 1,
          minNodes: 1,
          maxNodes: 1,
          nodeRank: 0,
          masterAddr: '127.0.0.1',
          maxRestarts: 0,
          runId: 'evil',
          gracePeriodMs: 1000,
          rdzvTimeoutMs: 10_000,
          recordMaxLogBytes: 1 << 20,
          python: evil,
          env: { EVIL: '1' },
        },
      });
      const events = [
        { v: 1, t: record.startedAt, event: 'training', saveDir },
        { v: 1, t: record.startedAt, event: 'epoch', epoch: 1, epochs: 3 },
      ];
      forgeAsNobody(store.runs, record, { 'events.jsonl': events.map((e) => `${JSON.stringify(e)}\n`).join('') });
      const run = await runCli(['resume', ID], { env: store.env, cwd: s.dir });
      expect(run.code, `${store.name}: ${run.stderr}`).toBe(1);
      expect(run.stderr).toContain(`Refusing to resume the run ${ID}`);
      expect(existsSync(mark), store.name).toBe(false);
    }
  });

  it('a launch does not record into a store of another user, and makes its own runs/ private', async () => {
    const s = box();
    const [theirs, ours] = hostileStores(s);
    const before = readdirSync(theirs!.runs);
    const run = await runCli(['--no-python', 'true'], { env: theirs!.env });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain(
      `this run is not recorded (the run store ${JSON.stringify(theirs!.env.DDPRUN_STATE_DIR)} is not safe: `,
    );
    expect(readdirSync(theirs!.runs)).toEqual(before);
    const recorded = await runCli(['--no-python', 'true'], { env: ours!.env });
    expect(recorded.code, recorded.stderr).toBe(0);
    expect(recorded.stderr).not.toContain('not recorded');
    expect(statSync(ours!.runs).mode & 0o777).toBe(0o755);
    expect(readdirSync(ours!.runs)).toHaveLength(1);
  });
});

describe('store files are new files, never a link planted in their place', () => {
  it('the appender (events.jsonl, rank logs) refuses an existing name or a symbolic link: the target is untouched', async () => {
    const s = box();
    const target = path.join(s.dir, 'root-only');
    writeFileSync(target, 'secret\n', { mode: 0o600 });
    mkdirSync(s.state, { recursive: true });
    for (const name of ['events.jsonl', 'stdout.log']) {
      const file = path.join(s.state, name);
      symlinkSync(target, file);
      const errors: string[] = [];
      const appender = new Appender(file, (error) => errors.push((error as NodeJS.ErrnoException).code ?? ''));
      appender.write('{"event":"planted"}\n');
      await appender.end();
      expect(errors).toEqual(['EEXIST']);
    }
    expect(readFileSync(target, 'utf8')).toBe('secret\n');
  });

  it('run.json is written through a new, unguessable temp file and a rename: links planted there are not followed', () => {
    const s = box();
    const target = path.join(s.dir, 'root-only');
    writeFileSync(target, 'secret\n', { mode: 0o600 });
    mkdirSync(s.state, { recursive: true });
    const file = path.join(s.state, 'run.json');
    symlinkSync(target, file);
    // The names a pid-and-counter temp file would take next.
    for (let n = 1; n <= 100; n++) symlinkSync(target, `${file}.${process.pid}.${n}.tmp`);
    writeJsonAtomicSync(file, { ok: true });
    writeJsonAtomicSync(file, { ok: 2 });
    expect(readFileSync(target, 'utf8')).toBe('secret\n');
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ ok: 2 });
  });
});
