// 3. SIGINT to the launcher → every worker gone (cooperative workers).
import { CONTENDERS } from './contenders.mjs';
import { medianOf, row } from './result.mjs';
import { signalRun } from './signal-run.mjs';

export const meta = {
  id: 3,
  title: 'SIGINT to the launcher → every worker gone (cooperative workers)',
  goal: '< 300 ms',
};

export async function run(h, cfg) {
  const gone = { ddprun: [], torchrun: [], floor: [] };
  const exit = { ddprun: [], torchrun: [], floor: [] };
  const notes = [];
  const bound = (c) => (c === 'floor' ? cfg.floorBoundMs : cfg.sigintBoundMs);
  await h.alternate(cfg.reps, CONTENDERS, async (c, i) => {
    const r = await signalRun(h, { bench: 3, contender: c, nproc: 2, signal: 'SIGINT', boundMs: bound(c) });
    if (r.error) return notes.push(`${c} run ${i + 1}: ${r.error}`);
    gone[c].push(r.goneMs);
    exit[c].push(r.launcherExitMs);
    if (r.orphans)
      notes.push(`${c} run ${i + 1}: ${r.orphans} worker(s) still alive after ${bound(c)} ms; killed by pid.`);
  });
  const rows = [
    ...CONTENDERS.map((c) => row(c, '2 ranks', 'SIGINT → every worker gone', 'ms', gone[c], bound(c))),
    ...CONTENDERS.map((c) => row(c, '2 ranks', 'SIGINT → launcher exited', 'ms', exit[c], bound(c))),
  ];
  const d = medianOf(rows, 'ddprun', '2 ranks', 'SIGINT → every worker gone');
  return {
    ...meta,
    rows,
    notes: [
      ...notes,
      'SIGINT goes to the launcher’s pid alone (not its process group): what a supervisor, `kill -INT` or a service manager sends. Workers exit at once on SIGINT/SIGTERM. "Gone" = no /proc entry or a zombie, polled every 1 ms.',
      'The floor’s shell does not forward signals and its background ranks ignore SIGINT, so they run on (killed by pid after the bound).',
    ],
    goal: { met: d !== undefined && d < 300, text: `ddprun median ${d?.toFixed(0)} ms; goal < 300 ms.` },
  };
}
