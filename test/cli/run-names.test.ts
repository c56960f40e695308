import { existsSync, mkdirSync, readdirSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WORKER, listFiles, runCli, useSandboxes, type Sandbox } from './helpers.js';
import { until, waitGone } from '../helpers/procs.js';

// #24 item 7: `--name`, the `last` alias, `ddprun rm`.
const ID = /^\d{8}-\d{6}-[0-9a-f]{4}$/;

const launchers: number[] = [];
afterEach(async () => {
  for (const pid of launchers.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
    await waitGone([pid], 10_000);
  }
});
const box = useSandboxes();

interface Row {
  id: string;
  name: string | null;
  status: string;
  pid: number;
}

async function ps(s: Sandbox, ...flags: string[]): Promise<Row[]> {
  const run = await runCli(['ps', '--json', ...flags], { env: s.env });
  expect(run.code).toBe(0);
  return run.stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Row);
}

async function detach(s: Sandbox, args: string[]): Promise<string> {
  const run = await runCli(['--detach', ...args], { env: s.env });
  expect(run.stderr).toMatch(/running in the background/);
  expect(run.code).toBe(0);
  const id = run.stdout.trim();
  expect(id).toMatch(ID);
  const row = (await ps(s, '--all')).find((r) => r.id === id);
  if (row) launchers.push(row.pid);
  return id;
}

/** A foreground run of the worker; returns its id (from the store: the newest run). */
async function foreground(s: Sandbox, args: string[]): Promise<string> {
  const run = await runCli(['--nproc-per-node', '1', ...args, WORKER, 'ok', s.out], { env: s.env });
  expect(run.code).toBe(0);
  return (await ps(s, '--all'))[0]!.id;
}

const runFolders = (s: Sandbox): string[] => readdirSync(path.join(s.state, 'runs')).sort();

describe('run names and last', () => {
  it('--name finds the newest run of that name; last finds the newest run; ps and show print the name', async () => {
    const s = box();
    const first = await foreground(s, ['--name', 'exp-1']);
    const unnamed = await foreground(s, []);
    const second = await foreground(s, ['--name', 'exp-1']);
    const other = await foreground(s, ['--name', 'other']);
    expect(new Set([first, unnamed, second, other]).size).toBe(4);
    const rows = await ps(s, '--all');
    expect(rows.map((r) => [r.id, r.name])).toEqual([
      [other, 'other'],
      [second, 'exp-1'],
      [unnamed, null],
      [first, 'exp-1'],
    ]);
    const show = async (q: string) => JSON.parse((await runCli(['show', '--json', q], { env: s.env })).stdout) as Row;
    expect((await show('exp-1')).id).toBe(second);
    expect((await show('last')).id).toBe(other);
    expect((await show(first)).name).toBe('exp-1');
    const text = await runCli(['show', 'exp-1'], { env: s.env });
    expect(text.stdout).toMatch(/^ {2}name +exp-1$/m);
    const logs = await runCli(['logs', 'other'], { env: s.env });
    expect(logs.code).toBe(0);
    expect(logs.stdout).toContain('args []');
    const table = await runCli(['ps', '--all'], { env: s.env });
    expect(table.stdout).toMatch(/^ID +NAME +STATUS /);
    expect(table.stdout).toMatch(new RegExp(`^${unnamed} +- +succeeded `, 'm'));
    expect(table.stdout).toMatch(new RegExp(`^${second} +exp-1 +succeeded `, 'm'));
    const missing = await runCli(['show', 'nosuch'], { env: s.env });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('No run has the id or name "nosuch"');
  });

  it('ps of two named live runs: the NAME column, and a PROGRESS column with the overall progress (#24 items 7, 15)', async () => {
    const s = box();
    const bar = (desc: string) => `printf "\\r${desc}  12%%|#         | 12/100 [00:02<00:15,  5.60it/s]"; sleep 60`;
    const a = await detach(s, ['--name', 'detect-a', '--no-python', 'sh', '-c', bar('Epoch 11/300:')]);
    const b = await detach(s, ['--name', 'warmup-b', '--no-python', 'sh', '-c', bar('')]);
    // #24 item 8: the CPU and memory of each live run's ranks (their latest sample), and item 15's progress.
    const used = String.raw`\d+% +\d+(\.\d)? [kMG]?B`;
    const rowA = new RegExp(` detect-a +running .* ${used} +epoch 11/300 +ddprun --detach --name `);
    const rowB = new RegExp(` warmup-b +running .* ${used} +step 12/100 12% +ddprun --detach --name `);
    let lines: string[] = [];
    const row = (id: string) => lines.find((l) => l.startsWith(id)) ?? '';
    // The progress and the first resources sample reach the store on their own schedules: wait for both.
    await until(
      "both runs' progress and resources in ps",
      async () => {
        lines = (await runCli(['ps'], { env: s.env })).stdout.trimEnd().split('\n');
        return rowA.test(row(a)) && rowB.test(row(b));
      },
      { timeoutMs: 30_000, everyMs: 500 },
    ).catch(() => undefined);
    expect(lines[0]).toMatch(/^ID +NAME +STATUS +RANKS +ATTEMPT +ELAPSED +EXIT +CPU +MEM +PROGRESS +COMMAND$/);
    expect(row(a)).toMatch(rowA);
    expect(row(b)).toMatch(rowB);
    // show <live id>: its resources and progress.
    const shown = (await runCli(['show', 'detect-a'], { env: s.env })).stdout;
    expect(shown).toMatch(/^ {2}resources CPU \d+% · RSS \d+(\.\d)? k?MB \(sampled .* ago\)$/m);
    expect(shown).toMatch(/^ {2}progress +epoch 11\/300$/m);
    for (const id of [a, b]) expect((await runCli(['stop', id], { env: s.env })).code).toBe(0);
  });

  it('a bad --name is a usage error: exit 2, nothing recorded, nothing started', async () => {
    const s = box();
    for (const name of ['last', '1abc', 'has space', 'a/b', 'x'.repeat(65)]) {
      const run = await runCli(['--name', name, '--nproc-per-node', '1', WORKER, 'ok', s.out], { env: s.env });
      expect(run.code).toBe(2);
      expect(run.stderr).toContain('to be a letter followed by up to 63');
    }
    expect(listFiles(s.state)).toEqual([]);
    expect(listFiles(s.out)).toEqual([]);
  });

  it('-d --name: a live name is not given twice; rm refuses the live run, then removes only its store folder', async () => {
    const s = box();
    const logDir = path.join(s.dir, 'logs');
    const id = await detach(s, ['--name', 'job', '--log-dir', logDir, '--nproc-per-node', '1', WORKER, 'sleep', s.out]);
    expect((await ps(s)).map((r) => [r.id, r.name, r.status])).toEqual([[id, 'job', 'running']]);
    // A second launch under the live run's name: refused before anything starts.
    const again = await runCli(['-d', '--name', 'job', '--nproc-per-node', '1', WORKER, 'ok', s.out], {
      env: s.env,
    });
    expect(again.code).toBe(2);
    expect(again.stderr).toContain(`The run ${id} is running under the name "job"`);
    expect(runFolders(s)).toEqual([id]);
    // rm of the live run: refused, nothing removed.
    const refused = await runCli(['rm', 'job'], { env: s.env });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`The run ${id} is still running: stop it first`);
    expect(runFolders(s)).toEqual([id]);
    expect((await runCli(['stop', 'job'], { env: s.env })).code).toBe(0);
    const rm = await runCli(['rm', 'job'], { env: s.env });
    expect(rm.stderr).toBe(`ddprun: removed run ${id} (job): ${path.join(s.state, 'runs', id)}\n`);
    expect(rm.stdout).toBe(`${id}\n`);
    expect(rm.code).toBe(0);
    expect(runFolders(s)).toEqual([]);
    // The --log-dir copy stays where it is.
    expect(listFiles(logDir).length).toBeGreaterThan(0);
    const gone = await runCli(['rm', 'job'], { env: s.env });
    expect(gone.code).toBe(2);
  });

  it('rm of several runs checks every one first: one unknown id removes none; last removes the newest', async () => {
    const s = box();
    const a = await foreground(s, ['--name', 'a']);
    const b = await foreground(s, []);
    const bad = await runCli(['rm', a, 'nosuch-run'], { env: s.env });
    expect(bad.code).toBe(2);
    expect(runFolders(s)).toEqual([a, b].sort());
    const last = await runCli(['rm', 'last'], { env: s.env });
    expect(last.code).toBe(0);
    expect(last.stdout).toBe(`${b}\n`);
    expect(runFolders(s)).toEqual([a]);
    const none = await runCli(['rm'], { env: s.env });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('`ddprun rm` needs a run id');
    expect(runFolders(s)).toEqual([a]);
  });

  it('rm never follows a symbolic link in runs/: a linked run folder is refused and its target kept', async () => {
    const s = box();
    const a = await foreground(s, []);
    const outside = path.join(s.dir, 'elsewhere');
    mkdirSync(outside);
    // A run folder moved elsewhere and linked back: the store reads it, rm must not delete through the link.
    const { renameSync } = await import('node:fs');
    renameSync(path.join(s.state, 'runs', a), path.join(outside, a));
    symlinkSync(path.join(outside, a), path.join(s.state, 'runs', a));
    const rm = await runCli(['rm', a], { env: s.env });
    expect(rm.code).not.toBe(0);
    expect(existsSync(path.join(outside, a, 'run.json'))).toBe(true);
  });
});
