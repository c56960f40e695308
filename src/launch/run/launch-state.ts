import type { Preemption } from '../../model/types.js';

/**
 * One launch's loop, named as its steps are:
 *
 *   preparing ──► rendezvous ──► running ──► done              the attempt succeeded, or failed with no retry left
 *       │             ▲             │
 *       │             └── restarting ◄┘                         a restart, or a fresh port after the port race
 *       └───────────────────────────► running                   torchrun's agent meets and restarts its ranks itself
 *   any state but done ──► stopping ──► done                   stop(), a forwarded signal, an abort, a gone reader
 *
 * The attempt, the port retries and the stop (its signal, the ranks' signal, how many were asked for) are the loop's
 * state, not parameters handed from step to step.
 */
export type LaunchState = 'preparing' | 'rendezvous' | 'running' | 'restarting' | 'stopping' | 'done';

const ALLOWED: Record<LaunchState, readonly LaunchState[]> = {
  preparing: ['rendezvous', 'running', 'stopping', 'done'],
  rendezvous: ['running', 'stopping', 'done'],
  running: ['restarting', 'stopping', 'done'],
  restarting: ['rendezvous', 'stopping', 'done'],
  stopping: ['done'],
  done: [],
};

export class LaunchLoop {
  private current: LaunchState = 'preparing';
  /** The attempt under way (0-based; a restart adds one, a port retry does not). */
  attempt = 0;
  /** Fresh ports tried after the port race (not restarts). */
  portRetries = 0;
  /** What stopped the launch (the signal ddprun got, stop()'s, SIGPIPE/SIGHUP for a gone reader); null: no stop. */
  stopSignal: NodeJS.Signals | null = null;
  /** What the ranks' main processes get when the launch stops (a group started during the stop gets it too). */
  rankSignal: NodeJS.Signals | undefined;
  /** How many stops were asked for: the second one kills. */
  stops = 0;
  /** Set when the first stop came from outside (a SIGTERM no `ddprun stop` asked for, the scheduler's warning). */
  preemption: Preemption | undefined;

  get state(): LaunchState {
    return this.current;
  }

  get stopping(): boolean {
    return this.stopSignal !== null;
  }

  can(next: LaunchState): boolean {
    return ALLOWED[this.current].includes(next);
  }

  /** Goes to `next`; a stop under way keeps the loop in `stopping` (until `done`). */
  to(next: LaunchState): void {
    if (this.current === 'stopping' && next !== 'done') return;
    if (!this.can(next)) throw new Error(`internal: a launch cannot go from ${this.current} to ${next}`);
    this.current = next;
  }

  /** A stop: the first one sets the signals and returns true; later ones (which kill) return false. */
  stop(signal: NodeJS.Signals, rankSignal: NodeJS.Signals): boolean {
    this.stopSignal ??= signal;
    this.rankSignal ??= rankSignal;
    if (this.current !== 'done' && this.current !== 'stopping') this.current = 'stopping';
    return ++this.stops === 1;
  }

  /**
   * The console's reader went away: a stop as that signal's, which does not count as a stop asked for (a later real
   * one counts as the first). False when a stop was already under way.
   */
  readerGone(as: NodeJS.Signals, rankSignal: NodeJS.Signals): boolean {
    if (this.stopSignal) return false;
    this.stopSignal = as;
    this.rankSignal = rankSignal;
    if (this.current !== 'done') this.current = 'stopping';
    return true;
  }

  /** The restart after a failed attempt: the next attempt. */
  restart(): void {
    this.to('restarting');
    this.attempt++;
  }

  /** The port race lost: the same attempt again on a fresh port. */
  retryPort(): void {
    this.to('restarting');
    this.portRetries++;
  }
}
