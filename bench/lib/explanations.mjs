// What a gap means and what would close it, shown under a goal that was not met. The measured splits are in
// each benchmark's "Where the time goes"; this is the reading of them (src/launch, src/cli at the time of the run).
const EXPLANATIONS = {
  1: [
    'Why: the gap is fixed launcher start-up before the first rank is spawned, not supervision (spawn, reap and teardown take a few ms; see the timeline). On this machine it is, roughly:',
    '(a) `node` itself starting, ≈ 60–90 ms (`node -e 0`); (b) the CLI’s imports, ≈ 50–70 ms more than the library alone — most of it `log-update` (≈ 50 ms: ansi-escapes, wrap-ansi, string-width), loaded even when stderr is not a terminal and no status line is drawn; (c) `findPython()`, ≈ 100–190 ms: the first `python3` on PATH is a pyenv shim (a bash script, ≈ 110 ms per start) without torch, then `/usr/bin/python3` (≈ 15 ms); the CLI resolves options before `launch()` resolves them again (the second time is cached).',
    'What would close it: cache the interpreter discovery on disk (key: PATH, VIRTUAL_ENV, CONDA_PREFIX, DDPRUN_PYTHON and the candidates’ mtimes; a hit costs one stat per candidate instead of one interpreter start), or skip the probe for an explicit `--python`/`DDPRUN_PYTHON` and diagnose a missing torch only when a rank fails with `ModuleNotFoundError`; import `log-update` lazily, only when stderr is a TTY. That leaves Node’s own start (≈ 60–90 ms) — close to the whole 5 % budget on a 2-second job, so ≤ 1.05 × floor is only reachable for jobs longer than ~2 s or with a V8 startup snapshot / single-file bundle of the CLI.',
  ].join('\n\n'),
  5: [
    'Why: the floor’s ranks write straight into the output file; ddprun reads every rank’s output through a pipe, splits it into lines, prefixes `[rankN]:` and writes it again, so each line costs two extra syscalls and a wake-up of the launcher on a 2-core machine that the 4 printing ranks already saturate. The CPU profile shows where the launcher’s own time goes: the CLI’s renderer (`src/cli/render.ts` `onLine`) writes each line with its own synchronous `write()` to the file (one syscall per line: 800,000 at full size), on top of the supervisor’s per-line `line` events.',
    'What would close it: (1) in the CLI, write each chunk’s lines as one string (the supervisor already batches this way when `launch()` prints itself: `console: true`, see `bench/fixtures/ddprun-run.mjs`, which runs this job ≈ 1.3 s faster than the CLI at 200,000 lines); (2) in `src/launch/supervisor.ts`, emit lines in batches (one event per chunk) rather than one event per line; (3) to reach the floor at all, a pass-through mode: when no prefix, filter, log file or `line` listener is needed, give the ranks the launcher’s stdout fd (stdio `inherit`) and keep only stderr piped for the root cause — what torchrun does without `--tee`.',
  ].join('\n\n'),
  6: 'Why: the launcher is a Node process (V8 heap plus the CLI’s modules); see the table for which job raised it.',
  7: [
    'Why: two costs. A fixed one, as in benchmark 1: `node` start-up and the CLI’s imports (≈ 150–200 ms) against a shell that starts in 1 ms — at 64 `/bin/true` ranks the whole floor job takes less than Node takes to start. And a per-rank one: Node spawns each rank with `fork()`+`exec()` on its main thread (`ChildProcess.spawn` is most of the launcher’s CPU profile at 64 ranks, ≈ 2.5 ms per rank: copying the page tables of a ~60 MB V8 process), then `setpriv` execs the rank (a second exec); dash forks a 1 MB process. The ranks are also started one after another, each awaiting its `spawn` event, plus a `mkdirSync` per rank for the error-file folder.',
    'What would close it: growth is linear, so the per-rank cost is the lever — create the per-attempt error-file folders in one pass, spawn all ranks without awaiting each `spawn` event in turn, and for very wide nodes hand the fork loop to a tiny helper (one spawn of a small process that forks the ranks, as the floor’s shell does). The fixed start-up cost is the one of benchmark 1. For typical jobs (≤ 8 ranks per node) the per-rank cost is ≈ 20 ms in total.',
  ].join('\n\n'),
};

export function explanationFor(id) {
  return EXPLANATIONS[id];
}
