/**
 * How close two of the same signal must come to be one. The terminal sends SIGINT to its whole foreground process
 * group: under `timeout 300 ddprun …` both `timeout` and ddprun get it, and `timeout` relays its copy, so one Ctrl-C
 * arrives twice within a few milliseconds (a SIGTERM to `timeout` does the same: it signals ddprun and then its whole
 * group). A person pressing Ctrl-C twice takes far longer (over 100 ms).
 */
export const SAME_KEYPRESS_MS = 100;

/** Tells a signal that is the echo of the previous one (the same keypress, relayed) from a second Ctrl-C. */
export class KeypressFilter {
  private lastAt: number | undefined;

  constructor(private readonly windowMs = SAME_KEYPRESS_MS) {}

  /** Whether this signal, arriving now, repeats the previous one of its kind (and should be ignored). */
  echo(now = Date.now()): boolean {
    const echo = this.lastAt !== undefined && now - this.lastAt < this.windowMs;
    if (!echo) this.lastAt = now;
    return echo;
  }
}
