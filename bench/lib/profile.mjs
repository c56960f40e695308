// Where ddprun's time goes: a phase timeline of one launch through the library, and a V8 CPU profile of the CLI.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { formatValue } from './stats.mjs';

function timelineOptions(job) {
  const entry = job.noPython
    ? { command: job.entry, args: job.args ?? [] }
    : { script: job.entry, args: job.args ?? [] };
  return { entry, nprocPerNode: job.nproc };
}

/** Runs bench/fixtures/ddprun-timeline.mjs once and renders its phases as a Markdown table. */
export async function timelineProfile(h, { bench, job, floorMs, label }) {
  const command = () => ({
    file: process.execPath,
    args: ['bench/fixtures/ddprun-timeline.mjs', JSON.stringify(timelineOptions(job))],
    display: `node bench/fixtures/ddprun-timeline.mjs '<LaunchOptions>'`,
  });
  let t;
  const { measured } = await h.run({
    bench,
    variant: 'profile',
    contender: 'ddprun',
    job,
    command,
    env: (ctx) => ({ BENCH_TIMELINE: path.join(ctx.workDir, 'timeline.json') }),
    during: async (m, ctx) => {
      await m.exited;
      try {
        t = JSON.parse(readFileSync(path.join(ctx.workDir, 'timeline.json'), 'utf8'));
      } catch {
        t = undefined;
      }
      t = t && { ...t, spawned: m.startedAt };
    },
  });
  if (!t)
    return `Profile run failed (exit ${measured.code}): ${measured.stderrTail.trim().split('\n').slice(-2).join(' | ')}`;
  const phases = [
    ['node starts, loads the script', t.spawned, t.main],
    ['import dist/index.js', t.main, t.imported],
    ['findPython() (one interpreter start per candidate)', t.imported, t.found],
    ['resolveOptions() (rest: validation, setpriv probe)', t.found, t.resolved],
    ['launch() → first rank started (port, plan, spawn)', t.resolved, t.firstStarted],
    [`first → all ${job.nproc} ranks started`, t.firstStarted, t.allStarted],
    ['all started → all ranks exited (the ranks’ own work)', t.allStarted, t.allExited],
    ['last exit → result settled (reap, drain, remove run dir)', t.allExited, t.result],
    ['result → process exited', t.result, measured.exitAt],
  ];
  const total = measured.exitAt - t.spawned;
  const ranksMs = t.allExited - t.allStarted;
  const lines = [
    `Phase timeline of one ${label} through the library (\`node bench/fixtures/ddprun-timeline.mjs\`, console on), monotonic clock:`,
    '',
    '| phase | ms |',
    '| --- | --- |',
    ...phases.map(([name, a, b]) => `| ${name} | ${formatValue(b - a)} |`),
    `| **total** | **${formatValue(total)}** |`,
    '',
    `Launcher time outside the ranks' own work: ${formatValue(total - ranksMs)} ms` +
      (floorMs === undefined ? '.' : ` (the floor's whole job took ${formatValue(floorMs)} ms).`),
  ];
  return lines.join('\n');
}

function summarizeCpuProfile(file, top) {
  const p = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map();
  let total = 0;
  p.samples.forEach((id, i) => {
    const dt = p.timeDeltas[i] ?? 0;
    const n = byId.get(id);
    const fn = n.callFrame.functionName || '(anonymous)';
    if (fn === '(idle)') return;
    const url = n.callFrame.url.replace(/^file:\/\/.*\/(dist|node_modules)\//, '$1/');
    const key = url ? `${fn} ${url}:${n.callFrame.lineNumber + 1}` : fn;
    self.set(key, (self.get(key) ?? 0) + dt);
    total += dt;
  });
  const rows = [...self].sort((a, b) => b[1] - a[1]).slice(0, top);
  return { totalMs: total / 1000, rows: rows.map(([k, us]) => ({ name: k, ms: us / 1000, pct: (100 * us) / total })) };
}

/** Runs the ddprun contender once under `node --cpu-prof` and lists the functions with the most self time. */
export async function cpuProfile(h, { bench, job, stdout, top = 10 }) {
  const [node, ...rest] = h.ddprunCmd;
  let summary;
  await h.run({
    bench,
    variant: 'profile',
    contender: 'ddprun',
    job,
    stdout,
    command: (ctx) => {
      const base = h.commandFor('ddprun', job, ctx.port);
      return {
        ...base,
        file: node,
        args: [`--cpu-prof`, `--cpu-prof-dir=${ctx.workDir}`, ...rest, ...base.args.slice(rest.length)],
      };
    },
    during: async (m, ctx) => {
      await m.exited;
      const file = readdirSync(ctx.workDir).find((f) => f.endsWith('.cpuprofile'));
      summary = file ? summarizeCpuProfile(path.join(ctx.workDir, file), top) : undefined;
    },
  });
  if (!summary) return 'CPU profile run wrote no profile.';
  return [
    `V8 CPU profile of the ddprun launcher process (\`node --cpu-prof\`, one run, ${formatValue(summary.totalMs)} ms of non-idle samples), top self time:`,
    '',
    '| function | self ms | % |',
    '| --- | --- | --- |',
    ...summary.rows.map((r) => `| \`${r.name}\` | ${formatValue(r.ms)} | ${r.pct.toFixed(1)} |`),
  ].join('\n');
}
