import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { listFiles, runCli, startCli, useSandboxes, type Sandbox } from './helpers.js';
import { until } from '../helpers/procs.js';
import { epochsOf, standinEnv, standinTrainArgs } from '../helpers/standin.js';
import { FIXTURES, torchPython } from '../helpers/python.js';
import { getRun, listRuns, readRunEvents } from 'ddprun';

const box = useSandboxes();
const python = await torchPython();
if (!python && process.env.CI) throw new Error('CI: no Python with torch was found');

const envOf = (s: Sandbox, extra: Record<string, string> = {}) => standinEnv(s.env, '0.05', extra);
const trainArgs = (s: Sandbox, extra: string[] = []) => standinTrainArgs(s.out, [], extra);

/** What a refused `ddprun resume` must leave as it was: the store's runs and every file of the sandbox. */
function snapshot(s: Sandbox) {
  return { runs: listRuns({ stateDir: s.state, all: true }).map((r) => r.id), files: listFiles(s.dir) };
}

async function refused(s: Sandbox, args: string[]) {
  const before = snapshot(s);
  const run = await runCli(['resume', ...args], { env: envOf(s), cwd: s.out });
  expect(run.code, run.stderr).toBe(2);
  expect(snapshot(s)).toEqual(before);
  return run.stderr;
}

describe.skipIf(!python)('ddprun resume <id>', () => {
  it('a stopped trainer run goes on from its last.pt to the end, as a new run linked to it; a disallowed key is refused first', async () => {
    const s = box();
    const dir = path.join(s.out, 'runs', 'exp');
    const lastPt = path.join(dir, 'weights', 'last.pt');
    const first = startCli(trainArgs(s), { env: envOf(s, { DDPRUN_STANDIN_BATCH_S: '0.4' }), cwd: s.out });
    await until('epoch 1', () => existsSync(lastPt) && existsSync(path.join(dir, 'results.csv')), {
      timeoutMs: 120_000,
    });
    const [live] = listRuns({ stateDir: s.state });
    await until(
      'a stored epoch',
      () => readRunEvents(live!.id, { stateDir: s.state }).some((e) => e.event === 'epoch'),
      {
        timeoutMs: 120_000,
      },
    );
    // ddprun ps shows a live trainer run's progress from its stored epochs.
    const ps = await runCli(['ps'], { env: envOf(s), cwd: s.out });
    expect(ps.stdout).toMatch(/PROGRESS/);
    expect(ps.stdout).toMatch(/epoch [12]\/3 · mAP50-95/);
    first.child.kill('SIGTERM');
    const stopped = await first.done;
    // A SIGTERM from outside: preempted (75), and resumable as a stopped run is.
    expect(stopped.code, stopped.stderr).toBe(75);
    const [old] = listRuns({ stateDir: s.state, all: true });
    expect(old?.status).toBe('preempted');
    const done = epochsOf(dir);
    expect(done.length).toBeGreaterThanOrEqual(1);
    expect(done.length).toBeLessThan(3);

    const message = await refused(s, [old!.id, 'lr0=0.5', 'batch=4']);
    expect(message).toContain('only imgsz, batch, device, close_mosaic may change, got lr0');

    const resumed = await runCli(['resume', old!.id, 'batch=4'], { env: envOf(s), cwd: s.out });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain(`Resuming training ${lastPt} from epoch ${done.length + 1} to 3 total epochs`);
    expect(epochsOf(dir)).toEqual([1, 2, 3]);
    expect(readdirSync(path.join(s.out, 'runs'))).toEqual(['exp']);
    // The allowed override reached the trainer (check_resume keeps it over the checkpoint's value).
    expect(readFileSync(path.join(dir, 'args.yaml'), 'utf8')).toMatch(/^batch: 4$/m);
    const runs = listRuns({ stateDir: s.state, all: true });
    expect(runs).toHaveLength(2);
    const fresh = runs.find((r) => r.id !== old!.id)!;
    expect(fresh.status).toBe('succeeded');
    expect(getRun(fresh.id, { stateDir: s.state }).resumedFrom).toEqual({
      id: old!.id,
      checkpoint: lastPt,
      epoch: done.at(-1),
    });
    expect(fresh.argv).toEqual(old!.argv);
    // ps and show link the new run to the one it resumes; show prints its training outcome.
    const ps2 = await runCli(['ps', '--all'], { env: envOf(s), cwd: s.out });
    expect(ps2.stdout).toContain(`(resumes ${old!.id})`);
    const shown = await runCli(['show', fresh.id], { env: envOf(s), cwd: s.out });
    expect(shown.stdout).toContain(`resumes  run ${old!.id} from ${lastPt}`);
    expect(shown.stdout).toContain(`training  ${dir} (detect, 3/3 epochs)`);
  });

  it('a run with --log-dir resumes into a new log folder beside its own, without a rendezvous warning', async () => {
    const s = box();
    const logDir = path.join(s.dir, 'logs');
    const first = await runCli(['train', '--quiet', '--log-dir', logDir, ...trainArgs(s).slice(1)], {
      env: envOf(s, { DDPRUN_STANDIN_DIE_AFTER_EPOCH: '1' }),
      cwd: s.out,
    });
    expect(first.code, first.stderr).not.toBe(0);
    const [old] = listRuns({ stateDir: s.state, all: true });
    const resumed = await runCli(['resume', '--quiet', old!.id], { env: envOf(s), cwd: s.out });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).not.toContain('--rdzv');
    const folders = readdirSync(logDir);
    expect(folders).toHaveLength(2);
    for (const folder of folders) {
      expect(folder).toMatch(/^none_[0-9a-f]{8}$/);
      expect(readdirSync(path.join(logDir, folder, 'attempt_0')).sort()).toEqual(['0', '1']);
    }
  });

  it('two resumes of one run at once: one trains, the other is refused; a later resume is refused naming the run that continued it', async () => {
    const s = box();
    const dir = path.join(s.out, 'runs', 'exp');
    const first = await runCli(['train', '--quiet', ...trainArgs(s).slice(1)], {
      env: envOf(s, { DDPRUN_STANDIN_DIE_AFTER_EPOCH: '1' }),
      cwd: s.out,
    });
    expect(first.code, first.stderr).not.toBe(0);
    const [old] = listRuns({ stateDir: s.state, all: true });
    expect(epochsOf(dir)).toEqual([1]);
    const slow = envOf(s, { DDPRUN_STANDIN_BATCH_S: '0.2' });
    const both = await Promise.all(
      [0, 1].map(() => startCli(['resume', '--quiet', old!.id], { env: slow, cwd: s.out }).done),
    );
    const codes = both.map((run) => run.code).sort();
    expect(codes, both.map((run) => run.stderr).join('\n')).toEqual([0, 2]);
    const loser = both.find((run) => run.code === 2)!;
    // Refused by the lock, or (when it came after the winner's record) as already continued.
    expect(loser.stderr).toMatch(
      new RegExp(`The run ${old!.id} (is being resumed by ddprun \\(pid \\d+|was already resumed by the run)`),
    );
    // One resume trained: each epoch once.
    expect(epochsOf(dir)).toEqual([1, 2, 3]);
    const runs = listRuns({ stateDir: s.state, all: true });
    expect(runs).toHaveLength(2);
    const fresh = runs.find((r) => r.id !== old!.id)!;
    expect(fresh.status).toBe('succeeded');
    // The original stays `failed`, but a third resume after the chain finished is refused, naming the run that did.
    const message = await refused(s, [old!.id]);
    expect(message).toContain(`The run ${old!.id} was already resumed by the run ${fresh.id}, which completed it.`);
    expect(epochsOf(dir)).toEqual([1, 2, 3]);
  });

  it('refuses, with exit 2 and nothing started, a completed run, a non-trainer run and a run without last.pt', async () => {
    const s = box();
    // A completed trainer run.
    const ok = await runCli(trainArgs(s, ['epochs=1']), { env: envOf(s), cwd: s.out });
    expect(ok.code, ok.stderr).toBe(0);
    const [completed] = listRuns({ stateDir: s.state, all: true });
    expect(await refused(s, [completed!.id])).toContain('completed');

    // A run that is not a trainer run.
    const plain = await runCli(['--nproc-per-node', '1', '--no-python', 'true'], { env: envOf(s), cwd: s.out });
    expect(plain.code, plain.stderr).toBe(0);
    const notTrainer = listRuns({ stateDir: s.state, all: true }).find((r) => r.id !== completed!.id)!;
    expect(await refused(s, [notTrainer.id])).toContain('is not a trainer run');

    // A trainer run that died before its first checkpoint (its folder is known, weights/last.pt is not there).
    const died = await runCli(trainArgs(s, ['name=early']), {
      env: envOf(s, { DDPRUN_STANDIN_DIE_AT_START: '1' }),
      cwd: s.out,
    });
    expect(died.code).toBe(1);
    const early = listRuns({ stateDir: s.state, all: true }).find((r) => r.status === 'failed')!;
    const message = await refused(s, [early.id]);
    expect(message).toContain('has no checkpoint to resume from');
    expect(message).toContain(path.join(s.out, 'runs', 'early', 'weights', 'last.pt'));

    // An unknown id.
    expect(await refused(s, ['nosuchrun'])).toContain('No run has the id or name "nosuchrun"');
  });

  it('resumes with the environment the ranks had: a trainer found through the PYTHONPATH of its first launch (#24 item 4)', async () => {
    const s = box();
    const dir = path.join(s.out, 'runs', 'exp');
    const lib = path.join(s.dir, 'lib');
    mkdirSync(lib);
    writeFileSync(
      path.join(lib, 'mytrainer.py'),
      `from ultralytics.models.yolo.standin.train import DetectionTrainer\n\nclass MyTrainer(DetectionTrainer):\n    pass\n`,
    );
    const args = ['train', '--quiet', '--nproc-per-node', '2', 'mytrainer.MyTrainer', ...trainArgs(s).slice(4)];
    const pythonPath = `${lib}${path.delimiter}${FIXTURES}`;
    const first = await runCli(args, {
      env: envOf(s, { PYTHONPATH: pythonPath, DDPRUN_STANDIN_DIE_AFTER_EPOCH: '1', MY_API_TOKEN: 'tok-s3cret' }),
      cwd: s.out,
    });
    expect(first.code, first.stderr).toBe(1);
    const [old] = listRuns({ stateDir: s.state, all: true });
    expect(epochsOf(dir)).toEqual([1]);
    expect(old!.rankEnv?.PYTHONPATH).toBe(pythonPath);
    expect(old!.rankEnv?.PATH).toBe(s.env.PATH);
    // Only what decides what the ranks import and run is recorded: no token of the user's shell.
    expect(readFileSync(path.join(old!.dir, 'run.json'), 'utf8')).not.toContain('tok-s3cret');

    // Resumed from a shell whose PYTHONPATH no longer names lib/: the record's does.
    const resumed = await runCli(['resume', '--quiet', old!.id], { env: envOf(s), cwd: s.out });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(epochsOf(dir)).toEqual([1, 2, 3]);
    const fresh = listRuns({ stateDir: s.state, all: true }).find((r) => r.id !== old!.id)!;
    expect(fresh.rankEnv?.PYTHONPATH).toBe(pythonPath);
  });
});
