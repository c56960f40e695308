// What a gap means and what would close it, shown under a goal that was not met. The measured splits are in
// each benchmark's "Where the time goes"; this is the reading of them (src/launch and src/cli as of this run).
const EXPLANATIONS = {
  1: [
    'Why: the gap is fixed start-up and shutdown, not supervision: spawning, reaping and teardown take a few ms each (see the timeline). With interpreter discovery cached on disk (≈ 1 ms; it was ≈ 125 ms here, where the first `python3` on PATH is a pyenv shim without torch), what remains is Node itself: `node` starting ≈ 60–65 ms, loading the library ≈ 25 ms and the CLI (commander, argument parsing, renderer) ≈ 30–50 ms more, options ≈ 6 ms, port + plan + spawn ≈ 15 ms, exit ≈ 8 ms — ≈ 120 ms through the library, ≈ 170–200 ms through the CLI, against a shell loop that costs ≈ 1 ms. On this 1-second job that is ≈ 1.15–1.2 ×.',
    'What would close it: only Node’s own start-up is left to cut — a V8 startup snapshot or a single-file bundle of the CLI (fewer module loads), and lazy loading of everything a launch does not use (doctor, gc, slurm, dry-run are loaded on demand already). The cost is fixed, so it fades with the job: ≈ 0.2 s is 1.05 × a 4-second job and invisible on real training runs.',
  ].join('\n\n'),
  5: [
    'Why: the floor’s ranks write straight into the output file and the floor’s shell never sees a byte; ddprun reads every rank’s output through a pipe, prefixes `[rankN]:` and writes it again. Its ≈ 1.5 CPU-seconds for 800,000 lines are taken from the same 2 cores that the 4 printing ranks already saturate, so they add to the wall time almost one for one. The JavaScript side is already a chunk at a time (`LineSplitter.pushPrefixed`: one `replaceAll` per chunk when nobody listens per line); what remains is mostly kernel time: `print()` under `python -u` writes each line in two syscalls, so each read of the pipe returns about two lines (measured with one rank: 103,000 reads of 121 bytes on average for 200,000 lines), and the launcher spends ≈ 1.0–1.4 s of system time (process.resourceUsage) on ≈ 400,000 reads and as many wake-ups, against ≈ 0.4 s of user time.',
    'What would close it: fewer, larger reads. Pausing the stream does not help (Node keeps reading into its buffer up to the high-water mark; tried: slower); stopping the pipe handle for a millisecond after a small chunk would let the pipe fill to 64 KiB, at the price of that latency. To reach ≤ 1.1 × the floor outright, a pass-through mode: when no prefix, rank filter, log file or `line` listener is wanted, give the ranks the launcher’s stdout fd (stdio `inherit`) and keep only stderr piped for the root cause — what torchrun 1.13 does here, which is why its launcher CPU stays at its import cost.',
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
