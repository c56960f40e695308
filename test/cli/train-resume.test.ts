import { existsSync, mkdirSync, readFileSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type LaunchResult, listRuns, readRunEvents, type RestartingEvent } from 'ddprun';
import { runCli, useSandboxes, type Sandbox } from './helpers.js';
import { torchPython } from '../helpers/python.js';
import { epochsOf, jsonEvents, standinEnv, standinTrainArgs } from '../helpers/standin.js';

const box = useSandboxes();
const python = await torchPython();
if (!python && process.env.CI) throw new Error('CI: no Python with torch was found');

/** `ddprun train --json --max-restarts 1` of the stand-in on 2 ranks (gloo); every rank copies its entry file. */
async function train(s: Sandbox, flags: string[], args: string[], env: Record<string, string>) {
  const copies = path.join(s.dir, 'entry-copies');
  mkdirSync(copies, { recursive: true });
  const run = await runCli(standinTrainArgs(s.out, ['--json', '--max-restarts', '1', ...flags], args), {
    env: standinEnv(s.env, '0.05', { DDPRUN_STANDIN_COPY_ENTRY: copies, ...env }),
    cwd: s.out,
  });
  const { of } = jsonEvents(run.stdout);
  const entry = (attempt: number, rank: number) =>
    readFileSync(path.join(copies, `attempt${attempt}_rank${rank}.py`), 'utf8');
  return { run, restarting: of<RestartingEvent>('restarting'), done: of<LaunchResult>('done')[0], entry };
}

const entryFilesLeft = (s: Sandbox) => {
  const dir = path.join(s.configDir, 'DDP');
  return existsSync(dir) ? readdirSync(dir).filter((n) => n.startsWith('_temp_')) : [];
};

describe.skipIf(!python)('ddprun train: a restart resumes from the run’s own last.pt', () => {
  it('death after epoch 1 with --max-restarts 1: one run folder, epochs 1, 2, 3, the second entry file resumes from last.pt', async () => {
    const s = box();
    const { run, restarting, done, entry } = await train(s, [], [], { DDPRUN_STANDIN_DIE_AFTER_EPOCH: '1' });
    expect(run.code, run.stderr).toBe(0);
    const dir = path.join(s.out, 'runs', 'exp');
    const lastPt = path.join(dir, 'weights', 'last.pt');
    expect(readdirSync(path.join(s.out, 'runs'))).toEqual(['exp']);
    expect(epochsOf(dir)).toEqual([1, 2, 3]);
    // One decision, taken by the launcher: both ranks of an attempt ran the same file.
    expect(entry(0, 1)).toBe(entry(0, 0));
    expect(entry(1, 1)).toBe(entry(1, 0));
    expect(entry(0, 0)).not.toContain("'resume'");
    // The explicit path, encoded as a Python string literal; never resume=True.
    expect(entry(1, 0)).toContain(`'resume': ${JSON.stringify(lastPt).replace(/^"|"$/g, "'")}`);
    expect(entry(1, 0)).not.toMatch(/'resume': True/);
    expect(restarting).toMatchObject([
      {
        attempt: 1,
        reason: expect.stringMatching(/^rank 0 failed with exit code 1$/) as unknown,
        resumeFrom: lastPt,
        epoch: 1,
      },
    ]);
    expect(done?.resumes).toEqual([{ attempt: 1, resumeFrom: lastPt, epoch: 1 }]);
    expect(done?.training).toMatchObject({ saveDir: dir, epochsDone: 3, lastPt });
    expect(run.stdout).toContain(`Resuming training ${lastPt} from epoch 2 to 3 total epochs`);
    expect(run.stderr).toContain(`attempt 1 resumes from ${lastPt} (epoch 1 done)`);
    expect(run.stderr).toContain(`attempt 1 resumed from ${lastPt} after epoch 1`);
    // The store recorded the restart with its checkpoint.
    const [stored] = listRuns({ stateDir: s.state, all: true });
    const events = readRunEvents(stored?.id as string, { stateDir: s.state });
    expect(events.filter((e) => e.event === 'restarting')).toMatchObject([
      { attempt: 1, resumeFrom: lastPt, epoch: 1 },
    ]);
    expect(entryFilesLeft(s)).toEqual([]);
  });

  it('death before any last.pt of this run: the restart starts fresh in the same folder, and removes nothing', async () => {
    const s = box();
    // A folder reused with exist_ok=True, holding an older run's last.pt: not this run's to resume.
    const dir = path.join(s.out, 'runs', 'exp');
    mkdirSync(path.join(dir, 'weights'), { recursive: true });
    const stale = path.join(dir, 'weights', 'last.pt');
    writeFileSync(stale, 'an older run');
    const hourAgo = new Date(Date.now() - 3600_000);
    utimesSync(stale, hourAgo, hourAgo);
    writeFileSync(path.join(dir, 'keep.txt'), 'mine');
    const { run, restarting, done, entry } = await train(s, [], ['exist_ok=True'], {
      DDPRUN_STANDIN_DIE_AT_START: '1',
    });
    expect(run.code, run.stderr).toBe(0);
    expect(restarting).toMatchObject([{ attempt: 1, reason: 'rank 0 failed with exit code 1' }]);
    expect(done?.resumes).toBeUndefined();
    expect(entry(1, 0)).toBe(entry(0, 0));
    expect(entry(1, 1)).toBe(entry(0, 0));
    expect(entry(1, 0)).not.toContain("'resume'");
    expect(readdirSync(path.join(s.out, 'runs'))).toEqual(['exp']);
    expect(readFileSync(path.join(dir, 'keep.txt'), 'utf8')).toBe('mine');
    expect(epochsOf(dir)).toEqual([1, 2, 3]);
    expect(run.stdout).not.toContain('Resuming training');
    expect(entryFilesLeft(s)).toEqual([]);
  });

  it('--no-resume: the restart trains again from scratch in a new folder, as before', async () => {
    const s = box();
    const { run, restarting, done, entry } = await train(s, ['--no-resume'], [], {
      DDPRUN_STANDIN_DIE_AFTER_EPOCH: '1',
    });
    expect(run.code, run.stderr).toBe(0);
    expect(restarting).toMatchObject([{ attempt: 1, reason: 'rank 0 failed with exit code 1' }]);
    expect(done?.resumes).toBeUndefined();
    expect(entry(1, 0)).toBe(entry(0, 0));
    expect(entry(1, 0)).not.toContain("'resume'");
    expect(readdirSync(path.join(s.out, 'runs')).sort()).toEqual(['exp', 'exp2']);
    expect(epochsOf(path.join(s.out, 'runs', 'exp'))).toEqual([1]);
    expect(epochsOf(path.join(s.out, 'runs', 'exp2'))).toEqual([1, 2, 3]);
    expect(run.stdout).not.toContain('Resuming training');
  });
});
