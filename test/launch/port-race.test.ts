import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LaunchRenderer } from '../../src/cli/render.js';
import { isMasterPortTaken } from '../../src/insight/failure.js';
import { launch } from '../../src/launch/run/launch.js';
import type { ResolvedOptions, RootCause } from '../../src/model/types.js';
import { ensureBuilt, runCli, sandbox } from '../cli/helpers.js';
import { tempDir } from '../helpers/procs.js';

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));
beforeAll(() => ensureBuilt());

function dir(): string {
  const t = tempDir();
  cleanups.push(t.cleanup);
  return t.dir;
}

/** A rank that counts its runs in `runs`, writes `stderr` and exits 3. */
function failing(runs: string, stderr: string) {
  return { command: 'sh', args: ['-c', `echo run >> ${runs}; printf '%s\\n' "${stderr}" >&2; exit 3`] };
}

const torch113 = (port: number | string) =>
  `RuntimeError: The server socket has failed to listen on any local network address. The server socket has failed to bind to [::]:${port} (errno: 98 - Address already in use). The server socket has failed to bind to 0.0.0.0:${port} (errno: 98 - Address already in use).`;

describe('the port race is only rank 0 failing to bind our MASTER_PORT (issue 17 item 3)', () => {
  it('runs once a rank 0 that logged a bind warning for MASTER_PORT and then failed with its own error', async () => {
    const runs = path.join(dir(), 'runs');
    const stderr = `[c10d] The server socket has failed to bind to [::]:$MASTER_PORT (errno: 98 - Address already in use).\nValueError: my own bug`;
    const reasons: string[] = [];
    const handle = launch({ entry: failing(runs, stderr), nprocPerNode: 1, console: false });
    handle.on('restarting', (r) => reasons.push(r.reason));
    const result = await handle.result;
    expect(readFileSync(runs, 'utf8')).toBe('run\n');
    expect(reasons).toEqual([]);
    expect(result).toMatchObject({ exitCode: 3, attempts: 1, portRetries: 0 });
    expect(result.rootCause?.message).toBe('ValueError: my own bug');
  });

  it('runs once a rank 0 that failed to bind some other port', async () => {
    const runs = path.join(dir(), 'runs');
    const result = await launch({ entry: failing(runs, torch113(1)), nprocPerNode: 1, console: false }).result;
    expect(readFileSync(runs, 'utf8')).toBe('run\n');
    expect(result).toMatchObject({ exitCode: 3, attempts: 1, portRetries: 0 });
  });

  it('runs the script once and says "1 attempt" in the CLI summary', async () => {
    const box = sandbox();
    cleanups.push(box.cleanup);
    const runs = path.join(box.out, 'runs');
    const { command, args } = failing(runs, 'OSError: [Errno 98] Address already in use');
    const run = await runCli(['--max-restarts', '0', '--no-python', command, ...args], { env: box.env });
    expect(run.code).toBe(3);
    expect(readFileSync(runs, 'utf8')).toBe('run\n');
    expect(run.stderr).toMatch(/ddprun failed in \S+ \(1 attempt\)\n/);
  });

  it("recognises torch's own bind failure on our port, in the old and the new wording", () => {
    const rc = (message: string) => ({ message, traceback: '' }) as RootCause;
    expect(isMasterPortTaken(rc(torch113(29611)), 29611)).toBe(true);
    expect(isMasterPortTaken(rc(torch113(29611)), 29612)).toBe(false);
    const torch2 =
      'torch.distributed.DistNetworkError: The server socket has failed to listen on any local network address. port: 29611, useIpv6: False, code: -98, name: EADDRINUSE, message: address already in use';
    expect(isMasterPortTaken(rc(torch2), 29611)).toBe(true);
    expect(isMasterPortTaken(rc(torch2), 2961)).toBe(false);
    expect(isMasterPortTaken(rc('OSError: [Errno 98] Address already in use'), 29611)).toBe(false);
  });

  it('says the port retries in the summary, beside the attempts', () => {
    const stderr = new PassThrough();
    let text = '';
    stderr.on('data', (d: Buffer) => (text += d.toString()));
    const resolved = {
      maxRestarts: 0,
      localRanksFilter: new Set([0]),
      redirects: ['none'],
    } as unknown as ResolvedOptions;
    const renderer = new LaunchRenderer(resolved, {
      json: false,
      quiet: false,
      stdout: new PassThrough(),
      stderr,
      env: { NO_COLOR: '1' },
    });
    renderer.finish({
      exitCode: 0,
      signal: null,
      ranks: [{ rank: 0, localRank: 0, pid: 1, exitCode: 0, signal: null, durationMs: 1500 }],
      attempts: 1,
      portRetries: 1,
      rootCause: undefined,
      durationMs: 1600,
    });
    expect(text).toContain('ddprun succeeded in 1.6s (1 attempt, 1 port retry)\n');
  });
});
