import type { Writable } from 'node:stream';
import { formatHang } from '../../insight/hang.js';
import { formatTeardownStacks } from '../../insight/monitor.js';
import type { EventName, EventPayload, EventSink } from '../../model/event-stream.js';
import type { LaunchEvents } from '../../model/types.js';
import { formatRootCause } from '../../insight/failure.js';
import { stopNotice } from './stop-notice.js';

/**
 * The library's own console (`console: true`), the one place library code writes to: warnings, stop notices, hang
 * reports, the stacks of ranks that outlived a teardown and the root cause of a failed launch, on stderr. The ranks' lines reach
 * the same streams by the output fast path (rank-output.ts: whole chunks prefixed at once, with back-pressure).
 */
export class ConsoleSink implements EventSink {
  constructor(
    private readonly stderr: Writable,
    private readonly gracePeriodMs: number,
  ) {}

  wants(name: EventName): boolean {
    return name === 'warning' || name === 'stopping' || name === 'hang' || name === 'stacks' || name === 'done';
  }

  write(name: EventName, payload: EventPayload): void {
    const text = this.text(name, payload);
    if (text !== undefined) this.stderr.write(`${text}\n`);
  }

  private text(name: EventName, payload: EventPayload): string | undefined {
    if (name === 'warning') return `ddprun: warning: ${(payload as LaunchEvents['warning'][0]).message}`;
    if (name === 'stopping') return `ddprun: ${stopNotice(payload as LaunchEvents['stopping'][0], this.gracePeriodMs)}`;
    if (name === 'hang') {
      const e = payload as LaunchEvents['hang'][0];
      return formatHang(e.idleMs, e.ranks, e.action);
    }
    if (name === 'stacks') {
      const e = payload as LaunchEvents['stacks'][0];
      return e.reason === 'teardown' ? formatTeardownStacks(e.ranks) : undefined;
    }
    const result = payload as LaunchEvents['done'][0];
    return result.rootCause && !result.signal ? formatRootCause(result.rootCause) : undefined;
  }
}
