// 5. Output throughput: 4 ranks each print N lines; wall time and launcher CPU seconds; output to a file.
import { closeSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { CONTENDERS, NO_RECORD } from './contenders.mjs';
import { cpuProfile } from './profile.mjs';
import { failureNote, medianOf, minOf, recordingNote, row } from './result.mjs';

export const meta = {
  id: 5,
  title: 'Output throughput: 4 ranks each print N lines',
  goal: 'wall ≤ 1.1 × floor; launcher CPU ≤ 0.88 µs a line (half of 1.41 s for 4 × 200,000)',
};

/** Launcher CPU a line before round 2 (1.41 s for 4 × 200,000 lines, BENCHMARKS.md of 2026-11-27); the goal is half. */
const CPU_US_PER_LINE_BEFORE = 1.41e6 / 800_000;

function countLines(file) {
  const buf = readFileSync(file);
  let n = 0;
  for (let i = buf.indexOf(10); i !== -1; i = buf.indexOf(10, i + 1)) n++;
  return n;
}

export async function run(h, cfg) {
  const lines = cfg.lines;
  const variant = `4 × ${lines.toLocaleString('en')} lines`;
  const job = { nproc: 4, entry: 'bench/fixtures/printer.py', args: [String(lines)] };
  const contenders = [...CONTENDERS, NO_RECORD];
  const wall = Object.fromEntries(contenders.map((c) => [c, []]));
  const cpu = Object.fromEntries(contenders.map((c) => [c, []]));
  const notes = [];
  let fd;
  const toFile = (ctx) => {
    fd = openSync(path.join(ctx.workDir, 'out.log'), 'w');
    return fd;
  };
  await h.alternate(cfg.reps, contenders, async (c, i) => {
    let received = 0;
    const { measured } = await h.run({
      bench: 5,
      variant,
      contender: c,
      job,
      stdout: toFile,
      during: async (m, ctx) => {
        const r = await m.exited;
        closeSync(fd);
        received = r.code === 0 ? countLines(path.join(ctx.workDir, 'out.log')) : 0;
      },
    });
    if (measured.code !== 0) return notes.push(failureNote(c, i, measured));
    if (received < 4 * lines) notes.push(`${c} run ${i + 1}: only ${received} of ${4 * lines} lines reached the file.`);
    wall[c].push(measured.wallMs);
    cpu[c].push(measured.cpuS);
  });
  const rows = [
    ...contenders.map((c) => row(c, variant, 'wall', 'ms', wall[c])),
    ...contenders.map((c) => row(c, variant, 'launcher CPU', 's', cpu[c])),
  ];
  const d = medianOf(rows, 'ddprun', variant, 'wall');
  const f = medianOf(rows, 'floor', variant, 'wall');
  const cpuUs = (medianOf(rows, 'ddprun', variant, 'launcher CPU') * 1e6) / (4 * lines);
  const cpuGoalUs = CPU_US_PER_LINE_BEFORE / 2;
  const met = d !== undefined && f !== undefined && d <= 1.1 * f && cpuUs <= cpuGoalUs;
  const dMin = minOf(rows, 'ddprun', variant, 'wall');
  const fMin = minOf(rows, 'floor', variant, 'wall');
  return {
    ...meta,
    rows,
    notes: [
      ...notes,
      recordingNote(rows, variant, 'wall', 'ms'),
      recordingNote(rows, variant, 'launcher CPU', 's'),
      'The launcher’s stdout is a file (opened by the bench, removed after each run; every run is checked to have received all 4 × N lines). Ranks print one `print()` per line under `python -u`.',
      'ddprun prefixes each line with `[rankN]:` and keeps lines whole; torchrun 1.13 cannot `--tee` on Python 3.11 (its `Std` parsing crashes), so with the required `--redirects 9:1 --tee 9:1` its ranks inherit the file directly, as the floor’s do, and torchrun’s launcher never touches the output.',
      'Launcher CPU = utime + stime of the launcher process alone, from /proc/<pid>/stat sampled every 10 ms (the last ≤ 10 ms before exit are missed).',
    ],
    goal: {
      met,
      text: `ddprun median ${d?.toFixed(0)} ms vs floor ${f?.toFixed(0)} ms: ${(d / f).toFixed(2)} × floor (best runs: ${(dMin / fMin).toFixed(2)} ×); goal ≤ 1.1 ×. Launcher CPU ${cpuUs.toFixed(2)} µs a line (median); goal ≤ ${cpuGoalUs.toFixed(2)} µs (before: ${CPU_US_PER_LINE_BEFORE.toFixed(2)} µs).`,
    },
    profile: await cpuProfile(h, { bench: 5, job, stdout: 'ignore' }),
  };
}
