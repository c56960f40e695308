import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { FailedRank } from '../../insight/failure.js';
import type { WatchedGroup } from '../../insight/group-view.js';
import { explainedRootCause } from '../../insight/root-cause.js';
import type { ResourceSampler } from '../../insight/sampler.js';
import type { LaunchPlan, RankPlan, RankResult, ResolvedOptions, RootCause } from '../../model/types.js';
import { planAttempt } from '../plan/plan.js';
import { interactiveLocalRank } from './interactive.js';
import { rankPolicy, type ChunkSink, type OutputContext, type OutputPolicy } from './rank-output.js';
import type { RankProcess } from './spawn-rank.js';
import type { StreamName } from './console-output.js';

/** Lines of a rank's stderr kept for the root cause when it writes no error file. */
export const STDERR_TAIL_LINES = 40;

/** What a rank group asks its backend about the processes it runs and their output. */
export interface GroupOutput {
  /** Lines of each process's stderr kept for the root cause. */
  readonly tailLines: number;
  /** Whether rank 0's decoded output is watched (progress bars, the trainer's run folder). */
  readonly watchesRank0: boolean;
  /** Whether this process is the interactive rank (it owns the terminal: no pipes to read). */
  interactive(plan: RankPlan): boolean;
  /** How one of a process's streams is shown, split and kept. */
  policy(proc: RankProcess, stream: StreamName): OutputPolicy;
  /** Where a process's raw chunks go as read (`output` events), if anywhere. */
  rawOutput(proc: RankProcess, stream: StreamName): ChunkSink | undefined;
  /** The stderr tail of a rank, once its streams are drained. */
  stderrTailOf(rank: number, localRank: number, procs: readonly RankProcess[]): string;
}

/** How a rank group ended. */
export interface GroupOutcome {
  ranks: RankResult[];
  /** The first rank to fail, unless the group was stopped first. */
  failed: FailedRank | undefined;
  /** Ranks that exited with an error of their own after the first failure (the root cause may be among them). */
  laterFailures: FailedRank[];
}

/** A failed attempt's group, as its backend reads it (the runner's `RankGroup`). */
export interface EndedGroup extends WatchedGroup {
  /** A rank's stderr tail (under torchrun: by rank, else by local rank). */
  stderrTailOf(rank: number, localRank?: number): string;
  /** The torchrun agent's own stderr (its failure summary). */
  agentStderr(): string;
}

/** A failed attempt, as its backend explains it. */
export interface AttemptFailure {
  resolved: ResolvedOptions;
  plan: LaunchPlan;
  group: EndedGroup;
  outcome: GroupOutcome & { failed: FailedRank };
  port: number;
  sampler: ResourceSampler;
  warn: (message: string) => void;
}

/**
 * How a launch runs its ranks: the native backend starts each rank itself; the torchrun backend starts torch's agent,
 * which starts (and restarts) them. The launch loop is the same for both: what differs is here.
 */
export interface Backend {
  readonly name: ResolvedOptions['backend'];
  /**
   * Whether ddprun meets the other nodes, restarts a failed attempt, retries a lost port and dumps the ranks' stacks
   * (native); torchrun's agent does the first three itself, in one attempt of ddprun's.
   */
  readonly ownsAttempts: boolean;
  /** What attempt `attempt` starts (the ranks, or the agent). Pure: `--dry-run` prints it. */
  plan(resolved: ResolvedOptions, attempt: number, masterPort: number, entryFile?: string): LaunchPlan;
  /** The output side of one rank group. */
  output(ctx: OutputContext, attempt: number): GroupOutput;
  /** The root cause of a failed attempt. */
  rootCause(failure: AttemptFailure): Promise<RootCause>;
}

/** The native backend: ddprun starts every rank of the node itself, with torchrun's worker environment. */
export const nativeBackend: Backend = {
  name: 'native',
  ownsAttempts: true,
  plan: planAttempt,
  output: (ctx, attempt) => new NativeOutput(ctx, attempt),
  async rootCause({ resolved, plan, group, outcome, port, sampler, warn }) {
    const { failed } = outcome;
    failed.stderrTail = group.stderrTailOf(failed.rank);
    keepErrorFile(resolved, plan.attempt, failed.localRank, failed.errorFile, warn);
    return explainedRootCause(resolved, group, failed, outcome, port, sampler);
  },
};

/** Each rank's own pipes: prefixed lines on the console, the raw chunks as `output` events. */
class NativeOutput implements GroupOutput {
  readonly tailLines = STDERR_TAIL_LINES;
  readonly watchesRank0 = true;

  constructor(
    private readonly ctx: OutputContext,
    private readonly attempt: number,
  ) {}

  interactive(plan: RankPlan): boolean {
    return interactiveLocalRank(this.ctx.resolved) === plan.localRank;
  }

  policy(proc: RankProcess, stream: StreamName): OutputPolicy {
    return rankPolicy(this.ctx, proc.plan, stream, proc.tail);
  }

  rawOutput(proc: RankProcess, stream: StreamName): ChunkSink {
    const { events } = this.ctx;
    const { attempt } = this;
    const { rank, localRank } = proc.plan;
    return (chunk) => {
      if (events.wants('output')) events.publish('output', { attempt, rank, localRank, stream, chunk });
    };
  }

  stderrTailOf(rank: number, _localRank: number, procs: readonly RankProcess[]): string {
    return procs.find((r) => r.plan.rank === rank)?.tail.text() ?? '';
  }
}

/** torchrun keeps a failing rank's error.json in its log folder: copied there from the run folder (removed after). */
function keepErrorFile(
  resolved: ResolvedOptions,
  attempt: number,
  localRank: number,
  errorFile: string,
  warn: (message: string) => void,
): void {
  if (!resolved.logDir || !existsSync(errorFile)) return;
  const dir = path.join(resolved.logDir, `attempt_${attempt}`, String(localRank));
  try {
    mkdirSync(dir, { recursive: true });
    copyFileSync(errorFile, path.join(dir, 'error.json'));
  } catch (error) {
    warn(`cannot keep ${errorFile} in ${dir}: ${(error as Error).message}`);
  }
}
