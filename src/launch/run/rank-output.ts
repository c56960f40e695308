import type { WriteStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { LineSplitter } from './line-splitter.js';
import type { Tail } from './logs.js';
import { Valve, type ConsoleOutput, type StreamName } from './console-output.js';
import type { EventPublisher } from '../../model/event-stream.js';
import type { RankPlan, ResolvedOptions, StdSelection } from '../../model/types.js';

/** Splits a torchrun agent's tee'd output (`[default1]:text`) back into ranks; undefined for the agent's own lines. */
export type Demux = (line: string) => { rank: number; localRank: number; text: string } | undefined;

/** Receives one stream's raw chunks, in order, exactly as read from its pipe. */
export type ChunkSink = (chunk: Buffer) => void;

/** What a rank's output stream feeds, besides its log file: one policy per kind of stream, below. */
export interface OutputPolicy {
  /** Decoded text, in order; may hold `valve` while the console is full. */
  text(chunk: string, valve: Valve): void;
  /** The stream ended: flush what is left. */
  end(valve: Valve): void;
}

export interface OutputContext {
  resolved: ResolvedOptions;
  events: EventPublisher;
  /** The console being watched (the library's own output, or the CLI renderer's); undefined: nobody's. */
  console: ConsoleOutput | undefined;
}

/** `[rank3]:`, or `[local1]:` for a torchrun rank whose global rank is not known. */
export function rankPrefix(rank: number, localRank: number, template?: string, role = 'default'): string {
  // torchrun's TORCHELASTIC_LOG_LINE_PREFIX_TEMPLATE (a string.Template of rank, local_rank, role_name).
  if (template !== undefined && rank >= 0) {
    const values: Record<string, string> = { rank: String(rank), local_rank: String(localRank), role_name: role };
    return template.replace(/\$(?:\{(\w+)\}|(\w+))/g, (whole, a?: string, b?: string) => values[a ?? b ?? ''] ?? whole);
  }
  return rank >= 0 ? `[rank${rank}]:` : `[local${localRank}]:`;
}

/** Whether a rank's stream reaches the console under --redirects / --tee / --local-ranks-filter. */
export function shownOnConsole(
  resolved: Pick<ResolvedOptions, 'redirects' | 'localRanksFilter'> & { tee?: ResolvedOptions['tee'] },
  localRank: number,
  stream: StreamName,
): boolean {
  if (localRank < 0) return true; // the torchrun agent's own lines
  if (!resolved.localRanksFilter.has(localRank)) return false;
  const redirected: StdSelection = resolved.redirects[localRank] ?? 'none';
  const teed: StdSelection = resolved.tee?.[localRank] ?? 'none';
  // torchrun: a stream both redirected and tee'd is tee'd (files and console).
  return !(redirected === 'all' || redirected === stream) || teed === 'all' || teed === stream;
}

/**
 * Reads one stream of a rank: the bytes go to the log file unchanged, the text (decoded as UTF-8, a character split
 * across reads kept whole) to `policy`. A full log file or console pauses the stream. Settles when it ends.
 */
export function pipeOutput(
  source: Readable,
  log: WriteStream | undefined,
  policy: OutputPolicy,
  sink?: ChunkSink,
): Promise<void> {
  const valve = new Valve(source);
  const decoder = new StringDecoder('utf8');
  source.on('data', (chunk: Buffer) => {
    if (log && !log.destroyed && !log.write(chunk)) valve.holdUntilDrained(log);
    sink?.(chunk);
    const text = decoder.write(chunk);
    if (text) policy.text(text, valve);
  });
  return new Promise<void>((resolve) => {
    let ended = false;
    const done = () => {
      if (ended) return;
      ended = true;
      const rest = decoder.end();
      if (rest) policy.text(rest, valve);
      policy.end(valve);
      resolve();
    };
    source.once('end', done);
    source.once('close', done);
  });
}

/** Lines for the console, written as one string per chunk (with back-pressure), not one write a line. */
function consoleBatch(ctx: OutputContext, stream: StreamName) {
  let batch: string[] = [];
  return {
    push: (text: string) => batch.push(text),
    flush(valve: Valve): void {
      if (batch.length) ctx.console?.write(stream, batch.join(''), valve);
      else ctx.console?.throttle(valve); // the CLI renderer may have filled the console from 'line' listeners
      batch = [];
    },
  };
}

/** A native rank's stream: `[rankN]:` lines to the console when shown, the stderr tail, and 'line' events. */
export function rankPolicy(ctx: OutputContext, rank: RankPlan, stream: StreamName, tail: Tail): OutputPolicy {
  const { resolved, events } = ctx;
  const prefix = rankPrefix(rank.rank, rank.localRank, resolved.linePrefixTemplate, resolved.role);
  const toConsole = resolved.console && shownOnConsole(resolved, rank.localRank, stream);
  const batch = consoleBatch(ctx, stream);
  const splitter = new LineSplitter((text, progress) => {
    if (toConsole) batch.push(`${prefix}${text}\n`);
    if (stream === 'stderr') tail.push(text);
    if (events.wants('line'))
      events.publish('line', {
        rank: rank.rank,
        localRank: rank.localRank,
        stream,
        text,
        ...(progress && { progress }),
      });
  });
  return {
    text(chunk, valve) {
      // Nobody needs this stdout line by line (no listener, no tail): prefix whole chunks at once.
      if (stream === 'stdout' && !events.wants('line')) {
        const lines = splitter.pushPrefixed(chunk, prefix);
        if (toConsole && lines) ctx.console?.write(stream, lines, valve);
        else ctx.console?.throttle(valve);
        return;
      }
      splitter.push(chunk);
      batch.flush(valve);
    },
    end(valve) {
      splitter.end();
      batch.flush(valve);
    },
  };
}

/**
 * The torchrun agent's stream: its workers' tee'd lines go out under their own rank (and into `tailOf` the rank's
 * stderr tail); the agent's own lines under rank -1, into `agentTail`.
 */
export function agentPolicy(
  ctx: OutputContext,
  demux: Demux,
  stream: StreamName,
  agentTail: Tail,
  tailOf: (rank: number, localRank: number) => Tail,
  attempt = 0,
): OutputPolicy {
  const { resolved, events } = ctx;
  const batch = consoleBatch(ctx, stream);
  const splitter = new LineSplitter((raw) => {
    const own = demux(raw);
    const rank = own?.rank ?? -1;
    const localRank = own?.localRank ?? -1;
    const text = own?.text ?? raw;
    if (events.wants('output')) events.publish('output', { attempt, rank, localRank, stream, chunk: `${text}\n` });
    if (stream === 'stderr') (own ? tailOf(rank, localRank) : agentTail).push(text);
    if (resolved.console && (!own || resolved.localRanksFilter.has(localRank)))
      batch.push(
        own ? `${rankPrefix(rank, localRank, resolved.linePrefixTemplate, resolved.role)}${text}\n` : `${raw}\n`,
      );
    if (events.wants('line')) events.publish('line', { rank, localRank, stream, text });
  });
  return {
    text(chunk, valve) {
      splitter.push(chunk);
      batch.flush(valve);
    },
    end(valve) {
      splitter.end();
      batch.flush(valve);
    },
  };
}
