// 10. The resource sampler's own cost: 8 ranks × 4 children each (40 processes, fixed), sampled from /proc as a
// running launch samples them, CPU time of the sampling process measured with process.cpuUsage().
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { summarize } from './stats.mjs';

export const meta = {
  id: 10,
  title: 'Resource sampling cost: 8 ranks × 4 children, one sample a second (launcher CPU)',
  goal: '≤ 0.5 % of one core',
};

const RANKS = 8;
const CHILDREN = 4;

/** A stand-in rank: a shell that forks CHILDREN sleepers and waits, as a rank waits with its data-loader workers. */
function startRank() {
  const script = `${Array.from({ length: CHILDREN }, () => 'sleep 1000 &').join(' ')} wait`;
  return spawn('sh', ['-c', script], { detached: true, stdio: 'ignore' });
}

async function treesReady(readTree, ranks) {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (ranks.every((r) => readTree(r.pid).length === CHILDREN + 1)) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return false;
}

export async function run(_h, cfg) {
  const { ResourceSampler } = await import('../../dist/insight/sampler.js');
  const { readTree } = await import('../../dist/insight/proc-tree.js');
  const ticksPerBatch = 50;
  const batches = cfg.samplingBatches ?? 20;
  const ranks = Array.from({ length: RANKS }, startRank);
  try {
    if (!(await treesReady(readTree, ranks))) throw new Error('the stand-in ranks did not fork their children');
    let events = 0;
    let processes = 0;
    const sampler = new ResourceSampler(
      1000,
      (sample) => {
        events++;
        processes = sample.reduce((n, r) => n + r.processes, 0);
      },
      undefined,
    );
    ranks.forEach((r, i) => sampler.track(i, i, r.pid));
    sampler.tick(); // warm-up: first reads, JIT
    const perTickMs = [];
    const wallPerTickMs = [];
    for (let b = 0; b < batches; b++) {
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      for (let i = 0; i < ticksPerBatch; i++) sampler.tick();
      const cpu = process.cpuUsage(cpu0);
      wallPerTickMs.push((performance.now() - t0) / ticksPerBatch);
      perTickMs.push((cpu.user + cpu.system) / 1000 / ticksPerBatch);
    }
    const s = summarize(perTickMs);
    // One tick a second: CPU ms per tick ÷ 1000 ms = the share of one core; × 100 for %.
    const percent = s.median / 10;
    return {
      ...meta,
      rows: [
        {
          contender: 'ddprun',
          variant: `${RANKS} ranks × ${CHILDREN} children (${processes} processes), ${batches} × ${ticksPerBatch} samples`,
          metric: 'CPU per sample',
          unit: 'ms',
          values: perTickMs,
          summary: s,
        },
        {
          contender: 'ddprun',
          variant: 'same, wall time',
          metric: 'wall per sample',
          unit: 'ms',
          values: wallPerTickMs,
          summary: summarize(wallPerTickMs),
        },
      ],
      notes: [
        `Each sample reads /proc/<pid>/stat and /proc/<pid>/task/<pid>/children of every process of every rank's tree, and /proc/<rank>/cgroup (${events} samples taken). Stand-in ranks are \`sh -c 'sleep 1000 & … wait'\`: the cost depends on the number of processes, not on what they run. No nvidia-smi on this machine, so no GPU query was timed.`,
        `At one sample a second, the median ${s.median.toFixed(3)} ms of CPU per sample is ${percent.toFixed(3)} % of one core.`,
      ],
      goal: {
        met: percent <= 0.5,
        text: `${percent.toFixed(3)} % of one core at 1 sample/s (median of ${batches} batches)`,
      },
    };
  } finally {
    for (const r of ranks) {
      try {
        process.kill(-r.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}
