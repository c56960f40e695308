import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, useSandboxes } from '../cli/helpers.js';
import { launchFixture } from '../helpers/launch.js';

const box = useSandboxes();

// Rank 1 fails the first attempt with exit code 3; the restart succeeds, or with `always` fails again.
const FAIL_ONCE =
  'echo "rank $RANK attempt $TORCHELASTIC_RESTART_COUNT"; [ "$RANK$TORCHELASTIC_RESTART_COUNT" != 10 ] || exit 3';
const FAIL_ALWAYS = 'echo "rank $RANK attempt $TORCHELASTIC_RESTART_COUNT"; [ "$RANK" != 1 ] || exit 3';

/** The environment without OMP_NUM_THREADS: launching 2 ranks then warns (torchrun's OMP_NUM_THREADS=1 notice). */
function withoutOmp(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { OMP_NUM_THREADS: _omp, ...rest } = env;
  return rest;
}

const parseLines = (text: string) =>
  text
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { v: number; t: string; event: string });

describe('one event stream, every consumer a sink', () => {
  it('writes each event of a run that warns, fails and restarts as the same JSON on --json and in events.jsonl', async () => {
    const s = box();
    const args = ['--json', '--nproc-per-node', '2', '--max-restarts', '1', '--no-python', 'sh', '-c', FAIL_ONCE];
    const run = await runCli(args, { env: withoutOmp(s.env) });
    expect(run.code).toBe(0);
    const printed = parseLines(run.stdout);
    const [id] = readdirSync(path.join(s.state, 'runs'));
    const recorded = parseLines(readFileSync(path.join(s.state, 'runs', id!, 'events.jsonl'), 'utf8'));
    // events.jsonl keeps every event but the lines (the logs have those bytes): the same JSON, in the same order.
    expect(printed.filter((e) => e.event !== 'line')).toEqual(recorded);
    expect(printed.filter((e) => e.event === 'line')).toHaveLength(4);
    const names = recorded.map((e) => e.event).filter((name) => name !== 'resources');
    expect(names[0]).toBe('warning');
    expect(names).toContain('restarting');
    expect(names.at(-1)).toBe('done');
    expect(names.filter((name) => name === 'started')).toHaveLength(4);
    expect(recorded.every((e) => e.v === 1 && !Number.isNaN(Date.parse(e.t)))).toBe(true);
    // The person reads the warning and the restart on stderr; stdout stays the JSON lines.
    expect(run.stderr).toMatch(/^ddprun: warning: Setting OMP_NUM_THREADS/m);
    expect(run.stderr).toMatch(/^ddprun: restarting \(attempt 1\): rank 1 failed with exit code 3$/m);
  });

  it('with console: false, a launch that warns, fails, restarts and fails again writes nothing to stdout or stderr', () => {
    const s = box();
    const heard = path.join(s.dir, 'heard.jsonl');
    // A state dir that is a file: the record cannot be made (a second warning), and the launch goes on.
    const state = path.join(s.dir, 'not-a-folder');
    writeFileSync(state, '');
    const options = { entry: { command: 'sh', args: ['-c', FAIL_ALWAYS] }, nprocPerNode: 2, maxRestarts: 1 };
    const run = spawnSync(process.execPath, [launchFixture('silent.mjs'), JSON.stringify(options), heard], {
      encoding: 'utf8',
      env: withoutOmp({ ...s.env, DDPRUN_STATE_DIR: state }),
      timeout: 60_000,
    });
    expect({ status: run.status, stdout: run.stdout, stderr: run.stderr }).toEqual({
      status: 3,
      stdout: '',
      stderr: '',
    });
    const events = readFileSync(heard, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { name: string; payload: { message?: string; exitCode?: number } });
    const warnings = events.filter((e) => e.name === 'warning').map((e) => e.payload.message);
    expect(warnings).toEqual([
      expect.stringMatching(/^this run is not recorded \(.*\); the launch goes on\./),
      expect.stringMatching(/^Setting OMP_NUM_THREADS environment variable for each process to be 1/),
    ]);
    expect(events.filter((e) => e.name === 'restarting')).toHaveLength(1);
    expect(events.at(-1)).toMatchObject({ name: 'done', payload: { exitCode: 3 } });
  });
});
