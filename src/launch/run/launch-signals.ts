import type { ResolvedOptions } from '../../model/types.js';
import { forwardJobControl } from './job-control.js';
import { KeypressFilter } from './keypress.js';
import { warningSignal } from './preemption.js';
import type { OwnedGroup } from './terminate.js';

const FORWARDED: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
/** What `ddprun stacks` sends a launcher (Node leaves SIGUSR2 free; SIGUSR1 starts its inspector). */
export const STACKS_SIGNAL = 'SIGUSR2';

/** What the process-wide wiring acts on. */
export interface SignalTarget {
  stop(signal: NodeJS.Signals): void;
  /** A signal from outside (a person, a scheduler): a stop, which may be a preemption (`preemptionOf`). */
  signalled(signal: NodeJS.Signals): void;
  /** The process groups of the ranks running now. */
  groups(): readonly OwnedGroup[];
  /** `ddprun stacks <id>`: the ranks' stacks, as a `stacks` event. */
  requestStacks(): void;
}

/**
 * A launch's process-wide wiring, with `handleSignals`: SIGINT/SIGTERM/SIGHUP stop it, Ctrl-Z stops and continues
 * its ranks, SIGUSR2 dumps their stacks (stack dumps on); and the caller's AbortSignal stops it. Returns the disposers.
 */
export function wireSignals(resolved: ResolvedOptions, target: SignalTarget): (() => void)[] {
  const disposers: (() => void)[] = [];
  if (resolved.handleSignals) disposers.push(forwardSignals(target));
  if (resolved.handleSignals) disposers.push(forwardJobControl(() => target.groups()));
  if (resolved.handleSignals && resolved.insight.stackDumps) disposers.push(stacksOnSignal(target));
  if (resolved.signal) disposers.push(onAbort(resolved.signal, target));
  return disposers;
}

function forwardSignals(target: SignalTarget): () => void {
  // The scheduler's warning signal (`ddprun slurm --requeue`'s SIGUSR1) stops the launch as a preemption.
  const warning = warningSignal();
  const handlers = [...FORWARDED, ...(warning ? [warning] : [])].map((signal) => {
    // One Ctrl-C that reaches ddprun twice (relayed by `timeout`, say) is one stop, not a stop and a kill.
    const keypress = new KeypressFilter();
    const handler = () => (keypress.echo() ? undefined : target.signalled(signal));
    process.on(signal, handler);
    return [signal, handler] as const;
  });
  return () => {
    for (const [signal, handler] of handlers) process.off(signal, handler);
  };
}

/** `ddprun stacks <id>` asks a running launcher for its ranks' stacks with SIGUSR2; they land in the store. */
function stacksOnSignal(target: SignalTarget): () => void {
  const handler = () => target.requestStacks();
  process.on(STACKS_SIGNAL, handler);
  return () => process.off(STACKS_SIGNAL, handler);
}

function onAbort(signal: AbortSignal, target: SignalTarget): () => void {
  const handler = () => target.stop('SIGTERM');
  if (signal.aborted) handler();
  else signal.addEventListener('abort', handler, { once: true });
  return () => signal.removeEventListener('abort', handler);
}
