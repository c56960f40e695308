/**
 * One attempt's lifecycle, named as torch's elastic agent names its WorkerState:
 *
 *   starting ──► running ──────────────► reaping ──► ended     every rank exited by itself
 *      │            │                       ▲
 *      ├────────────┴──► stopping ──────────┤                  a rank failed, or stop(): signal, grace period
 *      └────────────┴──► killing ───────────┘                  kill(), or the grace period ran out: SIGKILL
 *
 * `reaping`: every rank has exited; what they left in their process groups is asked to stop, then killed.
 */
export type GroupState = 'starting' | 'running' | 'stopping' | 'killing' | 'reaping' | 'ended';

const ALLOWED: Record<GroupState, readonly GroupState[]> = {
  starting: ['running', 'stopping', 'killing', 'reaping'],
  running: ['stopping', 'killing', 'reaping'],
  stopping: ['killing', 'reaping'],
  killing: ['reaping'],
  reaping: ['ended'],
  ended: [],
};

export class GroupLifecycle {
  private current: GroupState = 'starting';
  /** Polled by the reaper: SIGKILL what is left now (kill(), or a second Ctrl-C while reaping). */
  readonly force = { now: false };

  get state(): GroupState {
    return this.current;
  }

  /** Whether a rank's non-zero exit now is the group's failure (not the result of a stop already under way). */
  get acceptsFailure(): boolean {
    return this.current === 'starting' || this.current === 'running';
  }

  can(next: GroupState): boolean {
    return ALLOWED[this.current].includes(next);
  }

  to(next: GroupState): void {
    if (!this.can(next)) throw new Error(`internal: a rank group cannot go from ${this.current} to ${next}`);
    this.current = next;
    if (next === 'killing') this.force.now = true;
  }
}
