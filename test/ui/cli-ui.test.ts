import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIXTURES as PY_FIXTURES, TORCH_SKIP_REASON, torchPython } from '../helpers/python.js';
import { readPids, until, waitGone } from '../helpers/procs.js';
import { listFiles, runCli, startCli, useSandboxes } from '../cli/helpers.js';

const box = useSandboxes();
const python = await torchPython();

describe('ddprun ui', () => {
  it('serves the store with a token URL on stdout, answers 401 without it, and exits 0 on SIGTERM', async () => {
    const s = box();
    const { child, done } = startCli(['ui', '--port', '0'], { env: s.env });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const url = await until(
      'the token URL',
      () => /^(http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{48})$/m.exec(out)?.[1],
    );
    const origin = new URL(url).origin;
    expect((await fetch(`${origin}/api/runs`)).status).toBe(401);
    const login = await fetch(url, { redirect: 'manual' });
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    const runs = await fetch(`${origin}/api/runs`, { headers: { cookie } });
    expect(runs.status).toBe(200);
    expect(await runs.json()).toEqual([]);
    child.kill('SIGTERM');
    const end = await done;
    expect(end.code).toBe(0);
    expect(end.stderr).toContain(`dashboard at ${url}`);
  });

  it('warns when bound beyond loopback', async () => {
    const s = box();
    const { child, done } = startCli(['ui', '--port', '0', '--host', '0.0.0.0'], { env: s.env });
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    await until('the dashboard address', () => err.includes('dashboard at'));
    expect(err).toMatch(/warning: listening on 0\.0\.0\.0, reachable from the network/);
    child.kill('SIGTERM');
    expect((await done).code).toBe(0);
  });

  it.each([
    [['ui', '--port', '70000'], /--port 70000.*0-65535/],
    [['ui', '--port', 'x'], /--port/],
    [['ui', 'extra'], /takes no arguments/],
  ])('refuses %j with exit 2 and starts nothing', async (args, message) => {
    const s = box();
    const before = listFiles(s.dir);
    const r = await runCli(args, { env: s.env });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(listFiles(s.dir)).toEqual(before);
  });
});

describe.skipIf(!python && TORCH_SKIP_REASON)('ddprun --ui', () => {
  it('serves the dashboard while the launch lives, the run listed in it, and stops serving with the run', async () => {
    const s = box();
    const { child, done } = startCli(
      ['--ui', '--nproc-per-node', '2', path.join(PY_FIXTURES, 'launch', 'sleeper.py'), s.out],
      { env: s.env },
    );
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const url = await until('the dashboard address', () => /dashboard at (\S+)/.exec(err)?.[1]);
    await until('both ranks', () => listFiles(s.out).length === 2);
    const origin = new URL(url).origin;
    const cookie = (await fetch(url, { redirect: 'manual' })).headers.get('set-cookie')!.split(';')[0]!;
    const runs = (await (await fetch(`${origin}/api/runs`, { headers: { cookie } })).json()) as {
      status: string;
      run: { launcher: { pid: number } };
    }[];
    expect(runs.map((r) => [r.status, r.run.launcher.pid])).toEqual([['running', child.pid]]);
    child.kill('SIGTERM');
    expect((await done).code).toBe(75); // a SIGTERM from outside: preempted
    expect(await waitGone(readPids(s.out))).toEqual([]);
    await expect(fetch(`${origin}/api/runs`, { headers: { cookie } })).rejects.toThrow();
  });
});
