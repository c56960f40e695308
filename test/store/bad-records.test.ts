import { describe, expect, it } from 'vitest';
import { checkRecord } from '../../src/store/record-schema.js';
import { startDashboard } from '../../src/ui/server.js';
import { runCli, useSandboxes } from '../cli/helpers.js';
import { recordOf, writeRecord } from '../helpers/run-record.js';

const box = useSandboxes();
const GOOD = '20261202-021503-aaaa';
const NO_LAUNCHER = '20261202-021504-bbbb';
const ARGV_STRING = '20261202-021505-cccc';

/** A store with one good run and the two malformed-but-valid-JSON records of issue #22 item 4. */
function badStore(state: string): void {
  writeRecord(state, GOOD, recordOf(GOOD));
  writeRecord(state, NO_LAUNCHER, { schema: 1, id: NO_LAUNCHER, status: 'running' });
  writeRecord(state, ARGV_STRING, recordOf(ARGV_STRING, { argv: 'train.py --lr 0.1' as unknown as string[] }));
}

describe('a malformed run.json', () => {
  it('names the field that is wrong, and what it got', () => {
    expect(checkRecord({ schema: 1, id: 'x', status: 'running' })).toEqual({
      problem: 'argv: expected a list of strings, got nothing',
    });
    const { launcher: _gone, ...noLauncher } = recordOf(GOOD);
    expect(checkRecord(noLauncher)).toEqual({ problem: 'launcher: expected an object, got nothing' });
    expect(
      checkRecord(recordOf(GOOD, { launcher: { pid: 'x' as unknown as number, startTime: 1, bootId: null } })),
    ).toEqual({ problem: 'launcher.pid: expected a positive integer, got "x" (string)' });
    expect(checkRecord(recordOf(GOOD, { argv: 'train.py' as unknown as string[] }))).toEqual({
      problem: 'argv: expected a list of strings, got "train.py" (string)',
    });
    expect(checkRecord(recordOf(GOOD))).toEqual({ record: recordOf(GOOD) });
  });

  it('is skipped and reported by ps and ps --json; the good run is still listed', async () => {
    const s = box();
    badStore(s.state);
    for (const flags of [['--all'], ['--all', '--json']]) {
      const ps = await runCli(['ps', ...flags], { env: s.env });
      expect(ps.code).toBe(0);
      expect(ps.stdout).toContain(GOOD);
      expect(ps.stdout).not.toContain(NO_LAUNCHER);
      expect(ps.stderr).toContain(
        `ddprun: skipped the run folder ${s.state}/runs/${NO_LAUNCHER}: run.json: argv: expected a list of strings, got nothing\n`,
      );
      expect(ps.stderr).toContain(
        `ddprun: skipped the run folder ${s.state}/runs/${ARGV_STRING}: run.json: argv: expected a list of strings, got "train.py --lr 0.1" (string)\n`,
      );
    }
  });

  it('makes show and stop refuse that run with the reason (exit 1), and gc go on', async () => {
    const s = box();
    badStore(s.state);
    const show = await runCli(['show', ARGV_STRING], { env: s.env });
    expect(show.code).toBe(1);
    expect(show.stderr).toContain(
      `error: The run ${ARGV_STRING} has a record ddprun cannot use (run.json: argv: expected a list of strings, got "train.py --lr 0.1" (string)); nothing was done.`,
    );
    const stop = await runCli(['stop', NO_LAUNCHER], { env: s.env });
    expect(stop.code).toBe(1);
    expect(stop.stderr).toContain(`error: The run ${NO_LAUNCHER} has a record ddprun cannot use`);
    expect((await runCli(['show', GOOD], { env: s.env })).code).toBe(0);
    const gc = await runCli(['gc', '--dry-run'], { env: s.env });
    expect(gc.stderr).toBe('');
    expect(gc.code).toBe(0);
  });

  it("leaves the dashboard's /api/runs serving the good runs", async () => {
    const s = box();
    badStore(s.state);
    const dashboard = await startDashboard({ stateDir: s.state });
    try {
      const base = new URL(dashboard.url).origin;
      const res = await fetch(`${base}/api/runs`, { headers: { cookie: `ddprun_token=${dashboard.token}` } });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { id: string }[]).map((r) => r.id)).toEqual([GOOD]);
    } finally {
      await dashboard.close();
    }
  });
});
