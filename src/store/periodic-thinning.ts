// A run lives for days; its periodic events (a resources sample every second, ~95 B a rank; a progress update up
// to twice a second) would grow events.jsonl without end (8 ranks: 512 MiB in about 8 days). The record keeps them
// at a rate that falls as the run ages, always keeping the newest one, under a byte cap per run. Live consumers
// (console, --json, the handle) still get every event: only the store thins.

/** The events recorded at a falling rate. */
export const PERIODIC_EVENTS: ReadonlySet<string> = new Set(['resources', 'progress']);

/** How often a periodic event is recorded at most, by the run's age: every one for 10 min, then 1/10 s, then 1/min. */
export const PERIODIC_SCHEDULE: readonly { untilMs: number; everyMs: number }[] = [
  { untilMs: 10 * 60_000, everyMs: 0 },
  { untilMs: 60 * 60_000, everyMs: 10_000 },
  { untilMs: Infinity, everyMs: 60_000 },
];

/** Bytes of periodic events one run records at most (past it, they are no longer recorded; other events are). */
export const MAX_PERIODIC_BYTES = 64 * 1024 * 1024;

export interface PeriodicThinningOptions {
  /** @default PERIODIC_SCHEDULE */
  schedule?: readonly { untilMs: number; everyMs: number }[];
  /** @default MAX_PERIODIC_BYTES */
  maxBytes?: number;
  /** The clock. @default Date.now */
  now?: () => number;
}

interface Held {
  line: string;
  timer: NodeJS.Timeout;
}

/**
 * Decides which periodic events reach the record: one that comes before its interval is over is held (replacing
 * the one held before) and written when the interval ends, so the record always ends with the latest state.
 */
export class PeriodicThinning {
  private readonly startedAt: number;
  private readonly lastAt = new Map<string, number>();
  private readonly held = new Map<string, Held>();
  private bytes = 0;
  private readonly schedule: readonly { untilMs: number; everyMs: number }[];
  private readonly maxBytes: number;
  private readonly now: () => number;

  constructor(
    private readonly write: (line: string) => void,
    options: PeriodicThinningOptions = {},
  ) {
    this.schedule = options.schedule ?? PERIODIC_SCHEDULE;
    this.maxBytes = options.maxBytes ?? MAX_PERIODIC_BYTES;
    this.now = options.now ?? Date.now;
    this.startedAt = this.now();
  }

  /** Takes the event's line when the event is periodic (written now, held, or dropped); false for any other. */
  offer(name: string, line: string): boolean {
    if (!PERIODIC_EVENTS.has(name)) return false;
    const now = this.now();
    const age = now - this.startedAt;
    const everyMs = (this.schedule.find((s) => age < s.untilMs) ?? this.schedule.at(-1))?.everyMs ?? 0;
    const dueAt = (this.lastAt.get(name) ?? -Infinity) + everyMs;
    const held = this.held.get(name);
    if (now >= dueAt) {
      if (held) clearTimeout(held.timer);
      this.held.delete(name);
      this.emit(name, line, now);
      return true;
    }
    if (held) held.line = line;
    else {
      const timer = setTimeout(() => this.release(name), dueAt - now);
      timer.unref();
      this.held.set(name, { line, timer });
    }
    return true;
  }

  private release(name: string): void {
    const held = this.held.get(name);
    if (!held) return;
    this.held.delete(name);
    this.emit(name, held.line, this.now());
  }

  private emit(name: string, line: string, now: number): void {
    this.lastAt.set(name, now);
    const bytes = Buffer.byteLength(line);
    if (this.bytes + bytes > this.maxBytes) return;
    this.bytes += bytes;
    this.write(line);
  }

  /** Writes what is held (the launch has ended) and stops every timer. */
  flush(): void {
    for (const name of [...this.held.keys()]) {
      clearTimeout(this.held.get(name)!.timer);
      this.release(name);
    }
  }
}
