import type { LaunchResult, RankResult } from '../../model/types.js';
import type { RunInfo, StoredEvent } from '../../store/types.js';
import type { Colors } from '../colors.js';
import { shellQuote } from '../../slurm/shell-quote.js';

// How a stored run reads to a person: its command, its status, and (while it runs) its result so far.

/** The command line as it was typed: `ddprun --nproc-per-node 2 train.py`, or the rank command of a library launch. */
export function commandLine(run: Pick<RunInfo, 'argv' | 'source'>): string {
  const args = run.argv.map(shellQuote).join(' ');
  return run.source === 'cli' ? `ddprun ${args}` : `launch(): ${args}`;
}

/** `running`, `failed (exit code 3)`, in colour. */
export function statusText(run: RunInfo, c: Colors): string {
  switch (run.status) {
    case 'running':
      return c.green('running');
    case 'succeeded':
      return c.green('succeeded');
    case 'failed':
      return c.red(`failed${run.exitCode === undefined ? '' : ` (exit code ${run.exitCode})`}`);
    case 'stopped':
      return c.yellow(`stopped${run.signal ? ` by ${run.signal}` : ''}`);
    case 'preempted': {
      const by = run.result?.preempted;
      return c.yellow(`preempted${run.signal ? ` by ${run.signal}` : ''}${by ? ` from ${by.sender}` : ''}`);
    }
    case 'lost':
      return c.magenta('lost (its launcher is gone)');
  }
}

/** The status alone, in its colour (`ps`). */
export function statusWord(run: RunInfo, c: Colors): string {
  const paint = {
    running: c.green,
    succeeded: c.green,
    failed: c.red,
    stopped: c.yellow,
    preempted: c.yellow,
    lost: c.magenta,
  }[run.status];
  return paint(run.status);
}

/** The result so far of a run still going (or lost): the current attempt's ranks from its events. */
export function resultFromEvents(run: RunInfo, events: readonly StoredEvent[]): LaunchResult {
  let attempt = 0;
  for (const e of events) if (e.event === 'restarting' && typeof e.attempt === 'number') attempt = e.attempt;
  const ranks = new Map<number, RankResult & { startedAt: number }>();
  for (const e of events) {
    if (e.attempt !== attempt || typeof e.rank !== 'number') continue;
    if (e.event === 'started')
      ranks.set(e.rank, {
        rank: e.rank,
        localRank: typeof e.localRank === 'number' ? e.localRank : e.rank,
        pid: typeof e.pid === 'number' ? e.pid : undefined,
        exitCode: null,
        signal: null,
        durationMs: 0,
        startedAt: Date.parse(e.t),
      });
    const rank = ranks.get(e.rank);
    if (e.event === 'exited' && rank) {
      rank.exitCode = typeof e.exitCode === 'number' ? e.exitCode : null;
      rank.signal = (e.signal as NodeJS.Signals | null) ?? null;
      rank.durationMs = Date.parse(e.t) - rank.startedAt;
    }
  }
  const end = run.endedAt ? Date.parse(run.endedAt) : Date.now();
  return {
    exitCode: run.exitCode ?? 0,
    signal: run.signal ?? null,
    ranks: [...ranks.values()]
      .sort((a, b) => a.rank - b.rank)
      .map(({ startedAt, ...r }) =>
        r.exitCode === null && r.signal === null ? { ...r, durationMs: end - startedAt } : r,
      ),
    attempts: attempt + 1,
    portRetries: 0,
    rootCause: run.rootCause,
    durationMs: run.elapsedMs,
  };
}
