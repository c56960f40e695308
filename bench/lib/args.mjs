// Command-line options: --quick / --smoke (smaller, shorter), --out FILE, --only 1,1b,5 (a subset, for development).

const MODES = {
  full: {
    reps: 5,
    lines: 200_000,
    ranks: [64, 256],
    portCalls: 10_000,
    crashBoundMs: 15_000,
    sigintBoundMs: 10_000,
    sigkillBoundMs: 3_000,
    floorBoundMs: 2_000,
    samplingBatches: 20,
    startupPairs: 10,
  },
  quick: {
    reps: 2,
    lines: 20_000,
    ranks: [16, 64],
    portCalls: 2_000,
    crashBoundMs: 10_000,
    sigintBoundMs: 5_000,
    sigkillBoundMs: 2_000,
    floorBoundMs: 1_000,
    samplingBatches: 10,
    startupPairs: 10,
  },
  smoke: {
    reps: 1,
    lines: 2_000,
    ranks: [4, 16],
    portCalls: 200,
    crashBoundMs: 10_000,
    sigintBoundMs: 5_000,
    sigkillBoundMs: 1_000,
    floorBoundMs: 500,
    samplingBatches: 3,
    startupPairs: 3,
  },
};

function describe(mode, c) {
  return (
    `${c.reps} run(s) per contender and benchmark; benchmark 5 prints ${c.lines.toLocaleString('en')} lines per rank; ` +
    `benchmark 7 uses ${c.ranks.join(' and ')} ranks; benchmark 8 makes ${c.portCalls.toLocaleString('en')} calls; ` +
    `"never" bounds: crash ${c.crashBoundMs / 1000} s, SIGINT ${c.sigintBoundMs / 1000} s, SIGKILL ${c.sigkillBoundMs / 1000} s, floor ${c.floorBoundMs / 1000} s.` +
    (mode === 'full'
      ? ''
      : ` (Full mode: ${MODES.full.reps} runs, ${MODES.full.lines.toLocaleString('en')} lines, ${MODES.full.ranks.join(' and ')} ranks, ${MODES.full.portCalls.toLocaleString('en')} calls.)`)
  );
}

export function parseArgs(argv) {
  let mode = 'full';
  let out = 'BENCHMARKS.md';
  let only;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') mode = 'quick';
    else if (a === '--smoke') mode = 'smoke';
    else if (a === '--out') out = argv[++i];
    else if (a.startsWith('--out=')) out = a.slice(6);
    else if (a === '--only') only = argv[++i].split(',');
    else if (a === '--help' || a === '-h') return { help: true };
    else
      throw new Error(
        `Unknown option ${JSON.stringify(a)}. Usage: node bench/run.mjs [--quick | --smoke] [--out FILE] [--only 1,1b,5]`,
      );
  }
  if (!out) throw new Error('Expected a file name after --out.');
  const cfg = MODES[mode];
  return { mode, out, only, cfg: { ...cfg, mode, describe: describe(mode, cfg) } };
}
