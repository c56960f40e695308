import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { LaunchRenderer, loadStatusLine } from '../../src/cli/render.js';
import { EventStream } from '../../src/launch/run/event-stream.js';
import type { ResolvedOptions } from '../../src/model/types.js';
import { until } from '../helpers/procs.js';

function fakeStream(isTTY: boolean): PassThrough & { isTTY: boolean; columns: number; text: () => string } {
  const stream = new PassThrough() as PassThrough & { isTTY: boolean; columns: number; text: () => string };
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
  stream.isTTY = isTTY;
  stream.columns = 100;
  stream.text = () => text;
  return stream;
}

const resolved = {
  maxRestarts: 1,
  localRanksFilter: new Set([0, 1]),
  redirects: ['none', 'stdout'],
} as unknown as ResolvedOptions;

/** A launch's event stream whose one sink is `renderer`. */
const streamTo = (renderer: LaunchRenderer) => new EventStream([renderer]);

/** Polls for the status line (a loaded machine may delay the renderer's timer), failing after 5 s. */
const statusLine = (ok: () => boolean) => until('the status line', ok, { timeoutMs: 5000, everyMs: 5 });
const result = {
  exitCode: 0,
  signal: null,
  ranks: [{ rank: 0, localRank: 0, pid: 1, exitCode: 0, signal: null, durationMs: 1500 }],
  attempts: 1,
  portRetries: 0,
  rootCause: undefined,
  durationMs: 1600,
};

describe('LaunchRenderer', () => {
  it('keeps one status line at the bottom of a terminal, cleared before rank lines and re-rendered after', async () => {
    const stdout = fakeStream(true);
    const stderr = fakeStream(true);
    const createStatus = await loadStatusLine({ quiet: false, stderr });
    expect(createStatus).toBeTypeOf('function');
    const renderer = new LaunchRenderer(resolved, {
      json: false,
      quiet: false,
      stdout,
      stderr,
      env: { NO_COLOR: '1' },
      statusIntervalMs: 5,
      createStatus,
    });
    const events = streamTo(renderer);
    events.publish('started', { attempt: 0, rank: 0, localRank: 0, pid: 10, masterPort: 29500 });
    events.publish('started', { attempt: 0, rank: 1, localRank: 1, pid: 11, masterPort: 29500 });
    await statusLine(() => /ddprun 2 running · 0 exited · restarts 0\/1 · \d+ms/.test(stderr.text()));
    events.publish('line', { rank: 0, localRank: 0, stream: 'stdout', text: 'hello' });
    // Redirected to a file only: not on the console.
    events.publish('line', { rank: 1, localRank: 1, stream: 'stdout', text: 'hidden' });
    events.publish('exited', { attempt: 0, rank: 1, localRank: 1, exitCode: 0, signal: null });
    await statusLine(() => /1 running · 1 exited/.test(stderr.text()));
    expect(stdout.text()).toBe('[rank0]:hello\n');
    renderer.finish(result);
    expect(stderr.text()).toContain(
      'ddprun succeeded in 1.6s (1 attempt)\n  rank  exit  duration\n  0     0     1.5s\n',
    );
    // NO_COLOR: no colour codes, only log-update's cursor movements.
    // eslint-disable-next-line no-control-regex
    expect(stderr.text()).not.toMatch(/\u001b\[\d+m/);
  });

  it("shows the trainer's epoch, key metric, loss and ETA, and the current bar, in the status line", async () => {
    const stderr = fakeStream(true);
    stderr.columns = 200;
    const renderer = new LaunchRenderer(resolved, {
      json: false,
      quiet: false,
      stdout: fakeStream(true),
      stderr,
      env: { NO_COLOR: '1' },
      statusIntervalMs: 5,
      createStatus: await loadStatusLine({ quiet: false, stderr }),
    });
    const events = streamTo(renderer);
    events.publish('started', { attempt: 0, rank: 0, localRank: 0, pid: 10, masterPort: 29500 });
    for (const [epoch, time] of [
      [1, 40],
      [2, 80],
      [3, 120],
    ] as const)
      events.publish('epoch', {
        epoch,
        epochs: 100,
        metrics: { time, 'train/box_loss': 0.81, 'metrics/mAP50-95(B)': 0.412 },
        t: new Date().toISOString(),
      });
    events.publish('progress', {
      rank: 0,
      stream: 'stdout',
      format: 'ultralytics',
      desc: '4/100 0G',
      n: 45,
      total: 100,
      unit: 'it',
      remaining: 12,
    });
    await statusLine(() =>
      /ddprun 1 running · 0 exited · restarts 0\/1 · \S+ · epoch 3\/100 · mAP50-95 0\.412 · box_loss 0\.81 · ETA 1h04m · this epoch 45% \(12\.0s left\)/.test(
        stderr.text(),
      ),
    );
    renderer.finish({ ...result, ranks: [] });
  });

  it('writes only plain lines when not on a terminal, and JSON events with --json', () => {
    const stdout = fakeStream(false);
    const stderr = fakeStream(false);
    const renderer = new LaunchRenderer(resolved, { json: true, quiet: true, stdout, stderr, env: {} });
    const events = streamTo(renderer);
    events.publish('line', { rank: 0, localRank: 0, stream: 'stderr', text: 'x' });
    events.publish('epoch', { epoch: 1, epochs: 3, metrics: { time: 1.5 }, t: '2026-01-01T00:00:00.000Z' });
    events.publish('done', result);
    renderer.finish(result);
    const lines = stdout
      .text()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { event: string });
    expect(lines.map((l) => l.event)).toEqual(['line', 'epoch', 'done']);
    // The store's serialiser: `v`, `t` (when the event was published, or read) and `event` first, then the payload.
    expect(lines.map((l) => Object.keys(l).slice(0, 3))).toEqual(Array(3).fill(['v', 't', 'event']));
    expect(lines[1]).toEqual({
      v: 1,
      // An epoch's own `t` (when its row was read) is its line's.
      t: '2026-01-01T00:00:00.000Z',
      event: 'epoch',
      epoch: 1,
      epochs: 3,
      metrics: { time: 1.5 },
    });
    expect(stderr.text()).toBe('');
  });
});

describe('formatSummary (the console and ddprun show)', () => {
  it('appends the training outcome and the resumed attempts under the rank table', async () => {
    const { formatSummary } = await import('../../src/cli/render.js');
    const { colorsFor } = await import('../../src/cli/colors.js');
    const text = formatSummary(
      {
        ...result,
        training: {
          saveDir: '/w/runs/detect/train',
          task: 'detect',
          keyMetric: 'metrics/mAP50-95(B)',
          epochs: 3,
          epochsDone: 3,
          bestPt: '/w/runs/detect/train/weights/best.pt',
          lastPt: '/w/runs/detect/train/weights/last.pt',
          best: undefined,
          final: undefined,
        },
        resumes: [{ attempt: 1, resumeFrom: '/w/runs/detect/train/weights/last.pt', epoch: 1 }],
      },
      colorsFor({ isTTY: false }, {}),
    );
    expect(text).toMatch(
      /\ntraining {2}\/w\/runs\/detect\/train \(detect, 3\/3 epochs\)\n[^]*\n {2}attempt 1 resumed from \/w\/runs\/detect\/train\/weights\/last\.pt after epoch 1\n$/,
    );
  });
});
