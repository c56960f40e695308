import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli, startCli, useSandboxes, type Sandbox } from './helpers.js';
import { until, waitGone } from '../helpers/procs.js';
import type { ChildProcess } from 'node:child_process';

// #24 item 11: the dashboard's URL and token can be found again once the terminal that printed them is gone.

const box = useSandboxes();
const servers: ChildProcess[] = [];
afterEach(async () => {
  for (const child of servers.splice(0)) {
    child.kill('SIGKILL');
    if (child.pid) await waitGone([child.pid], 10_000);
  }
});

/** `ddprun ui --port 0` in the background; resolves with its process and the URL it printed. */
async function serve(s: Sandbox): Promise<{ child: ChildProcess; url: string }> {
  const started = startCli(['ui', '--port', '0'], { env: s.env });
  servers.push(started.child);
  let out = '';
  started.child.stdout!.on('data', (chunk: Buffer) => (out += String(chunk)));
  const url = await until('the URL', () => /^(http:\/\/\S+\?token=[0-9a-f]+)$/m.exec(out)?.[1], { timeoutMs: 30_000 });
  return { child: started.child, url };
}

const status = (s: Sandbox) => runCli(['ui', '--status'], { env: s.env });

describe('finding the dashboard again', () => {
  it('ui --status and ps print the URL with its token while it serves; the record is private and goes with it', async () => {
    const s = box();
    const none = await status(s);
    expect(none.code).toBe(0);
    expect(none.stdout).toBe('');
    expect(none.stderr).toContain('No dashboard is serving.');

    const { child, url } = await serve(s);
    const listed = await status(s);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(new RegExp(`^${url.replace(/[?.]/g, '\\$&')}  \\(ddprun ui, pid ${child.pid} on `));
    const ps = await runCli(['ps'], { env: s.env });
    expect(ps.stderr).toContain(`dashboard: ${url}\n`);
    // The token is readable by its user only.
    const dir = path.join(s.state, 'dashboards');
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    const [file] = readdirSync(dir);
    expect(statSync(path.join(dir, file!)).mode & 0o777).toBe(0o600);

    // Ctrl-C: the dashboard closes and its record goes.
    child.kill('SIGINT');
    await new Promise((resolve) => child.once('close', resolve));
    expect(readdirSync(dir)).toEqual([]);
    expect((await status(s)).stdout).toBe('');
  });

  it('a dashboard killed before it could remove its record is not listed, and its record is swept', async () => {
    const s = box();
    const { child } = await serve(s);
    child.kill('SIGKILL');
    await waitGone([child.pid!], 10_000);
    const dir = path.join(s.state, 'dashboards');
    expect(readdirSync(dir)).toHaveLength(1);
    const listed = await status(s);
    expect(listed.stdout).toBe('');
    expect(readdirSync(dir)).toEqual([]);
  });
});
