// What a gap means and what would close it, shown under a goal that was not met. The measured splits are in
// each benchmark's "Where the time goes"; this is the reading of them (src/launch and src/cli as of this run).
const EXPLANATIONS = {
  1: [
    'Why: the gap is launcher start-up before the first rank is spawned, not supervision — spawning, reaping and teardown take a few ms (see the timeline). The pieces, on this machine: `findPython()` ≈ 110–130 ms, because the first `python3` on PATH is a pyenv shim (a bash script, ≈ 110 ms per start) without torch, and only then `/usr/bin/python3` (≈ 15 ms) is probed; `node` starting ≈ 60 ms (`node -e 0`); importing the library and the CLI ≈ 25–40 ms.',
    'What would close it: (1) cache interpreter discovery on disk (key: PATH, VIRTUAL_ENV, CONDA_PREFIX, DDPRUN_PYTHON and each candidate’s path + mtime), so that a repeated launch costs one `stat` per candidate instead of one interpreter start — about 125 ms here, which alone brings the best run to ≈ 1.02 × floor; or, cheaper still, skip the torch probe for an explicit `--python`/`DDPRUN_PYTHON` and explain a missing torch only when a rank fails with `ModuleNotFoundError: torch`; (2) what is left is Node’s own start-up (≈ 60 ms, ≈ 5 % of a 1.1-s job): a V8 startup snapshot or a single-file bundle of the CLI would trim it, and on real jobs (tens of seconds and more) it vanishes.',
  ].join('\n\n'),
  5: [
    'Why: the floor’s ranks write straight into the output file and the floor’s shell never sees a byte; ddprun reads every rank’s output through a pipe, splits it into lines, prefixes `[rankN]:` and writes it again. Its ≈ 1.5 CPU-seconds for 800,000 lines (≈ 2 µs a line, see the launcher CPU rows) are taken from the same 2 cores that the 4 printing ranks already saturate, so they add to the wall time almost one for one. The CPU profile shows where they go: the line splitter (`LineSplitter.push`, a `slice` and a string per line plus `partial + chunk` concatenation), garbage collection of those strings, the supervisor’s per-chunk `data` handler and its per-line batch array, then the writes.',
    'What would close it: (1) for the console path when a chunk holds no `\\r` and nobody listens to `line` events, prefix a chunk in one pass (`chunk.replaceAll(\'\\n\', \'\\n[rankN]:\')` on the complete-line part) instead of materialising every line — most of the per-line allocation and GC goes; keep per-line work for stderr’s root-cause tail only; (2) to reach ≤ 1.1 × the floor, a pass-through mode: when no prefix, rank filter, log file or `line` listener is wanted, give the ranks the launcher’s stdout fd (stdio `inherit`) and keep only stderr piped for the root cause — what torchrun 1.13 does here, which is why its launcher CPU stays at its import cost.',
  ].join('\n\n'),
  6: 'Why: the launcher is a Node process (V8 heap plus the CLI’s modules); see the table for which job raised it.',
  7: [
    'Why: two costs. A fixed one, as in benchmark 1: `node` start-up and imports (≈ 90 ms) against a shell that starts in 1 ms — at 64 `/bin/true` ranks the whole floor job takes less than Node takes to start. And a per-rank one, ≈ 2 ms (timeline: 256 ranks started in ≈ 490 ms): Node spawns each rank with `fork()`+`exec()` on its main thread (`ChildProcess.spawn` is most of the launcher’s CPU profile at 64 ranks: copying the page tables of a ~60 MB V8 process), then `setpriv` execs the rank (a second exec), two pipes per rank, a `mkdirSync` per rank for its error-file folder; dash forks a 1 MB process. Growth stays linear (best runs), so the goal fails on the constant, not on the shape.',
    'What would close it: the per-rank cost — create the per-attempt error-file folders in one pass, and for very wide nodes hand the fork loop to a tiny helper (one spawn of a small process that forks the ranks, as the floor’s shell does, e.g. `setpriv … sh -c` with one line per rank), so Node forks once instead of N times. The fixed start-up cost is benchmark 1’s. For typical jobs (≤ 8 ranks per node) the per-rank cost totals ≈ 15–20 ms.',
  ].join('\n\n'),
};

export function explanationFor(id) {
  return EXPLANATIONS[id];
}
