import type { EventEmitter } from 'node:events';

// The ranks' raw output, for a consumer that keeps it byte for byte (the run store). It is not an event: `line` is
// the per-line view; this is the per-chunk one, and the supervisor only pays for it when someone is attached.

/** Receives one rank stream's chunks, in order, exactly as read from its pipe. */
export type ChunkSink = (chunk: string | Buffer) => void;

/** Opens a sink per attempt, rank and stream (rank -1: a torchrun agent's own output). */
export interface OutputTap {
  open(attempt: number, rank: number, localRank: number, stream: 'stdout' | 'stderr'): ChunkSink;
}

const taps = new WeakMap<EventEmitter, OutputTap>();

/** Attaches `tap` to a launch's emitter; returns the detach function. */
export function attachOutputTap(events: EventEmitter, tap: OutputTap): () => void {
  taps.set(events, tap);
  return () => {
    if (taps.get(events) === tap) taps.delete(events);
  };
}

/** The tap attached to a launch's emitter, if any. */
export function outputTapOf(events: EventEmitter): OutputTap | undefined {
  return taps.get(events);
}
