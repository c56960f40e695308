import { constants, hostname } from 'node:os';
import path from 'node:path';
import { explainFailure, readErrorFile, rootCauseOf } from '../../insight/failure.js';
import { chooseRootCause, explainRootCause } from '../../insight/root-cause.js';
import { trainerSource } from '../../insight/failure-facts.js';
import { parseTorchVersion, versionAtLeast } from '../../python/find-python.js';
import { entryArgv, importPathEnv } from '../plan/plan.js';
import { torchrunArgv, torchrunEntryArgv } from './argv.js';
import { STDERR_TAIL_LINES, type Backend, type GroupOutput } from '../run/backend.js';
import type { StreamName } from '../run/console-output.js';
import { Tail } from '../run/logs.js';
import { agentPolicy, type Demux, type OutputContext, type OutputPolicy } from '../run/rank-output.js';
import type { RankProcess } from '../run/spawn-rank.js';
import type { LaunchPlan, ResolvedOptions, RootCause, StdSelection } from '../../model/types.js';

// torch 1.13 polls its workers every 5 s by default: a crash would take that long to notice.
const MONITOR_INTERVAL = ['--monitor_interval', '0.1'];

/**
 * The torchrun backend's single "rank": the agent, `python -m torch.distributed.run`, with ddprun's options as
 * torchrun flags. Its workers are started through `--no_python setpriv --pdeathsig KILL -- python -u …`, so each
 * dies with the agent, which dies with ddprun. Every stream is tee'd so that lines arrive tagged with their rank.
 */
export function planAgent(resolved: ResolvedOptions, masterPort: number, entryFile?: string): LaunchPlan {
  const tee: StdSelection[] = resolved.tee.map((t, i) => ((resolved.redirects[i] ?? 'none') === 'none' ? 'all' : t));
  // Without a log dir of the user's, torchrun's goes into the launch's own folder, removed with it.
  const forArgv: ResolvedOptions = {
    ...resolved,
    masterPort,
    tee,
    logDir: resolved.logDir ?? path.join(resolved.runDir, 'torchrun'),
  };
  const legacy = resolved.torchVersion !== undefined && !versionAtLeast(parseTorchVersion(resolved.torchVersion), 1, 9);
  const worker = entryArgv(resolved, entryFile);
  const entry =
    legacy || resolved.deathSigWrapper.length === 0
      ? 'command' in resolved.entry || 'trainer' in resolved.entry
        ? ['--no_python', ...worker]
        : torchrunEntryArgv(resolved.entry)
      : ['--no_python', ...resolved.deathSigWrapper, ...worker];
  const argv = [
    ...resolved.deathSigWrapper,
    ...torchrunArgv(forArgv, legacy ? entry : [...MONITOR_INTERVAL, ...entry], { rdzvHost: resolved.rdzvIsHost }),
  ];
  const errorFile = path.join(resolved.runDir, 'agent', 'error.json');
  // torch >= 2.3 tags tee'd lines with this template: global ranks, even under a dynamic rendezvous.
  const env: Record<string, string> = {
    ...resolved.env,
    ...importPathEnv(resolved, process.env),
    TORCHELASTIC_ERROR_FILE: errorFile,
    TORCHELASTIC_LOG_LINE_PREFIX_TEMPLATE: '[rank${rank}]:',
  };
  if (resolved.socketIfname) {
    env.GLOO_SOCKET_IFNAME ??= process.env.GLOO_SOCKET_IFNAME ?? resolved.socketIfname;
    env.NCCL_SOCKET_IFNAME ??= process.env.NCCL_SOCKET_IFNAME ?? resolved.socketIfname;
  }
  return {
    attempt: 0,
    masterAddr: resolved.masterAddr,
    masterPort,
    worldSize: resolved.nprocPerNode * resolved.maxNodes,
    ranks: [
      { localRank: 0, rank: -1, argv, cwd: resolved.cwd, env, errorFile, stdoutLog: undefined, stderrLog: undefined },
    ],
    files: resolved.logDir ? [resolved.logDir] : [],
  };
}

/**
 * Splits torchrun's tee'd lines back into ranks: `[rank3]:text` (our prefix template, torch >= 2.3) carries the global
 * rank; `[default1]:text` only the local rank, whose global rank is known under a static rendezvous and is -1 otherwise
 * (the dynamic rendezvous assigns node ranks).
 */
export function torchrunDemux(resolved: ResolvedOptions): Demux {
  const staticRdzv = resolved.rdzvBackend === 'static';
  return (line) => {
    const match = /^\[(default|rank)(\d+)\]:(.*)$/s.exec(line);
    if (!match) return undefined;
    const n = Number(match[2]);
    const text = match[3] as string;
    if (match[1] === 'rank') return { rank: n, localRank: n % resolved.nprocPerNode, text };
    return { rank: staticRdzv ? resolved.nodeRank * resolved.nprocPerNode + n : -1, localRank: n, text };
  };
}

/** One `[i]:` entry of torchrun's failure summary: its `name : value` fields. */
type SummaryEntry = (name: string) => string | undefined;

/** The entries of a summary section (`Failures:` or `Root Cause (first observed failure):`), in order. */
function summaryEntries(section: string): SummaryEntry[] {
  return section
    .split(/^\s*\[\d+\]:\s*$/m)
    .slice(1)
    .map((entry) => (name) => new RegExp(`^\\s*${name}\\s*:\\s*(.*)$`, 'm').exec(entry)?.[1]?.trim());
}

/** A failure of the summary as a root cause, its traceback from `errorFile` (if given and readable) or its stderr. */
function summaryFailure(
  field: SummaryEntry,
  errorFile: string | undefined,
  rankTail: (rank: number, localRank: number) => string,
): RootCause | undefined {
  const rankMatch = /^(\d+) \(local_rank: (\d+)\)/.exec(field('rank') ?? '');
  const exitMatch = /^(-?\d+) \(pid: (\d+)\)/.exec(field('exitcode') ?? '');
  if (!rankMatch || !exitMatch) return undefined;
  const rank = Number(rankMatch[1]);
  const code = Number(exitMatch[1]);
  const summaryFile = field('error_file');
  const fromFile =
    (errorFile === undefined ? undefined : readErrorFile(errorFile)) ??
    (summaryFile && summaryFile !== '<N/A>' ? readErrorFile(summaryFile) : undefined);
  const base = {
    rank,
    localRank: Number(rankMatch[2]),
    pid: Number(exitMatch[2]),
    host: field('host') ?? hostname(),
    time: field('time') ?? new Date().toISOString(),
    exitCode: code < 0 ? null : code,
    signal: code < 0 ? (signalName(-code) ?? null) : null,
  };
  return explainFailure(base, fromFile, rankTail(rank, base.localRank));
}

/**
 * Reads torchrun's failure summary from the agent's stderr: its "Root Cause (first observed failure)", with the
 * traceback from the error file the agent copied (TORCHELASTIC_ERROR_FILE) or the one the summary names, unless that
 * rank failed only because a peer went away and one of the summary's other failures has a reason of its own (torchrun
 * takes the earliest by whole seconds: when the ranks end in the same poll, local rank 0 wins the tie).
 */
export function parseTorchrunRootCause(
  agentStderr: string,
  agentErrorFile: string,
  rankTail: (rank: number, localRank: number) => string,
): RootCause | undefined {
  const at = agentStderr.lastIndexOf('Root Cause (first observed failure):');
  if (at === -1) return undefined;
  const root = summaryEntries(agentStderr.slice(at))[0];
  const first = root && summaryFailure(root, agentErrorFile, rankTail);
  if (!first) return undefined;
  const others = agentStderr.lastIndexOf('Failures:', at);
  const rest = others === -1 ? [] : summaryEntries(agentStderr.slice(others, at));
  const candidates = [first, ...rest.map((entry) => summaryFailure(entry, undefined, rankTail))];
  return chooseRootCause(candidates.filter((rc): rc is RootCause => rc !== undefined));
}

function signalName(n: number): NodeJS.Signals | undefined {
  return (Object.entries(constants.signals) as [NodeJS.Signals, number][]).find(([, value]) => value === n)?.[0];
}

/** Lines of the agent's stderr kept: it ends with torchrun's failure summary (and a traceback). */
const AGENT_TAIL_LINES = 400;

/**
 * The torchrun backend: one `torch.distributed.run` agent per node meets the other nodes, starts and restarts the
 * ranks itself; ddprun demuxes its tee'd lines back into ranks, explains its failure summary and guards its groups.
 */
export const torchrunBackend: Backend = {
  name: 'torchrun',
  ownsAttempts: false,
  plan: (resolved, _attempt, masterPort, entryFile) => planAgent(resolved, masterPort, entryFile),
  output: (ctx, attempt) => new AgentOutput(ctx, attempt),
  async rootCause({ resolved, plan, group, outcome, port }) {
    const agentTail = group.agentStderr();
    const parsed =
      parseTorchrunRootCause(agentTail, plan.ranks[0]!.errorFile, (rank, localRank) =>
        group.stderrTailOf(rank, localRank),
      ) ?? rootCauseOf({ ...outcome.failed, stderrTail: agentTail });
    return explainRootCause(parsed, {
      python: resolved.python,
      masterPort: port,
      durationMs: outcome.ranks[0]?.durationMs ?? 0,
      peakRssBytes: undefined,
      cgroupDir: undefined,
      trainer: trainerSource(resolved),
    });
  },
};

/** The agent's pipes: its tee'd lines split back into ranks, each rank's stderr tail kept by rank (or local rank). */
class AgentOutput implements GroupOutput {
  readonly tailLines = AGENT_TAIL_LINES;
  readonly watchesRank0 = false;
  /** The ranks' stderr tails, by `r<rank>` or, where the rank is unknown, `l<localRank>`. */
  private readonly tails = new Map<string, Tail>();
  private readonly demux: Demux;

  constructor(
    private readonly ctx: OutputContext,
    private readonly attempt: number,
  ) {
    this.demux = torchrunDemux(ctx.resolved);
  }

  interactive(): boolean {
    return false;
  }

  policy(proc: RankProcess, stream: StreamName): OutputPolicy {
    return agentPolicy(this.ctx, this.demux, stream, proc.tail, (r, l) => this.tailOf(r, l), this.attempt);
  }

  /** The agent's raw bytes are its own and every rank's, tagged: `output` events carry each rank's lines instead. */
  rawOutput(): undefined {
    return undefined;
  }

  stderrTailOf(rank: number, localRank: number): string {
    return (this.tails.get(`r${rank}`) ?? this.tails.get(`l${localRank}`))?.text() ?? '';
  }

  private tailOf(rank: number, localRank: number): Tail {
    const key = rank >= 0 ? `r${rank}` : `l${localRank}`;
    let tail = this.tails.get(key);
    if (!tail) this.tails.set(key, (tail = new Tail(STDERR_TAIL_LINES)));
    return tail;
  }
}
