// `npm run bench`: every benchmark of issue 5 in one process, contenders alternating run by run; writes BENCHMARKS.md.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from './lib/args.mjs';
import { explanationFor } from './lib/explanations.mjs';
import { Harness } from './lib/harness.mjs';
import { machineInfo } from './lib/machine.mjs';
import { renderReport } from './lib/report.mjs';
import * as b1 from './lib/bench-1-job-wall.mjs';
import * as b1b from './lib/bench-1b-startup.mjs';
import * as b2 from './lib/bench-2-crash.mjs';
import * as b3 from './lib/bench-3-sigint.mjs';
import * as b4 from './lib/bench-4-sigkill.mjs';
import * as b5 from './lib/bench-5-output.mjs';
import * as b6 from './lib/bench-6-memory.mjs';
import * as b7 from './lib/bench-7-many-ranks.mjs';
import * as b8 from './lib/bench-8-ports.mjs';
import * as b9 from './lib/bench-9-record.mjs';
import * as b10 from './lib/bench-10-sampling.mjs';

const BENCHES = [b1, b1b, b2, b3, b4, b5, b7, b8, b10, b6, b9]; // 6 reads the runs of 1, 5 and 7; 9 those of 1 and 5
const NEEDS_TORCH = new Set(['1', '2', '3', '4', '5', '9']);
/** A benchmark's name in the report and for --only (`1b`), and where it sorts. */
const label = (meta) => String(meta.label ?? meta.id);
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const log = (text) => process.stderr.write(`${text}\n`);

async function torchPython() {
  const { findPython } = await import('../dist/index.js');
  try {
    return { python: (await findPython()).python };
  } catch (error) {
    return { reason: error.message.split('\n')[0] };
  }
}

// The CLI as a user runs it, when it works; else a tiny script that calls launch() the same way.
function ddprunCommand() {
  const cli = path.join(repo, 'dist/cli/main.js');
  const ok =
    existsSync(cli) && spawnSync(process.execPath, [cli, '--help'], { encoding: 'utf8', timeout: 30_000 }).status === 0;
  if (ok)
    return {
      cmd: [process.execPath, 'dist/cli/main.js'],
      note: '`node dist/cli/main.js …` — the CLI as a user runs it (`ddprun …` in the commands below), measured as a whole process.',
    };
  return {
    cmd: [process.execPath, 'bench/fixtures/ddprun-run.mjs'],
    note: 'the CLI did not run, so `node bench/fixtures/ddprun-run.mjs …` (a few lines that call `launch()` from dist) stands in for it, measured as a whole process.',
  };
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (args.help) return log('node bench/run.mjs [--quick | --smoke] [--out FILE] [--only 1,1b,5]');
  const { cfg } = args;
  if (!existsSync(path.join(repo, 'dist/index.js')))
    throw new Error('dist/index.js is missing: run `npm run build` first (`npm run bench` does).');
  const started = Date.now();
  const { python, reason } = await torchPython();
  const machine = machineInfo(python);
  const ddprun = ddprunCommand();
  const root = mkdtempSync(path.join(os.tmpdir(), 'ddprun-bench-'));
  const h = new Harness({ root, python, ddprunCmd: ddprun.cmd, cwd: repo, log });
  const onSignal = async (signal) => {
    log(`bench: ${signal}: cleaning up`);
    await h.sweepAll();
    rmSync(root, { recursive: true, force: true });
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const results = [];
  try {
    for (const b of BENCHES) {
      if (args.only && !args.only.includes(label(b.meta))) continue;
      if (NEEDS_TORCH.has(label(b.meta)) && !python) {
        results.push({ ...b.meta, label: label(b.meta), skipped: `no Python with torch was found (${reason}).` });
        continue;
      }
      const t0 = Date.now();
      const loadBefore = os.loadavg()[0].toFixed(2);
      log(`bench ${label(b.meta)}: ${b.meta.title}`);
      const r = await b.run(h, cfg);
      h.finished.set(label(b.meta), r);
      r.notes = [
        ...(r.notes ?? []),
        `Load average (1 min) before this benchmark: ${loadBefore}, after: ${os.loadavg()[0].toFixed(2)} (2 cores).`,
      ];
      log(`  ${r.goal.met ? 'met' : 'NOT met'}: ${r.goal.text} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
      results.push({
        ...r,
        goal: b.meta.goal,
        outcome: r.goal,
        label: label(b.meta),
        explanation: r.goal.met ? undefined : explanationFor(label(b.meta)),
      });
    }
  } finally {
    const stray = await h.sweepAll();
    for (const p of stray)
      h.leftovers.push({ bench: 'end', contender: '?', kind: 'process', detail: `pid ${p.pid}: ${p.cmd}` });
    rmSync(root, { recursive: true, force: true });
  }
  results.sort((a, b) => (a.order ?? a.id) - (b.order ?? b.id));
  const loadEnd = os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
  const report = renderReport({
    machine,
    cfg,
    h,
    results,
    launcherNote: ddprun.note,
    elapsedS: (Date.now() - started) / 1000,
    loadEnd,
    leftovers: h.leftovers,
  });
  writeFileSync(path.resolve(args.out), report);
  log(`bench: wrote ${args.out} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

main().catch((error) => {
  log(`bench: ${error.stack ?? error}`);
  process.exitCode = 1;
});
