import type { LaunchEvents } from '../../model/types.js';

/** What the console says when a stop begins (who gets which signal when), and when a second stop kills at once. */
export function stopNotice(stopping: LaunchEvents['stopping'][0], gracePeriodMs: number): string {
  const { signal, force, rankSignal, preempted } = stopping;
  if (force) return `${signal} again: SIGKILL to every rank's process group now.`;
  const again = signal === 'SIGINT' ? 'Ctrl-C again' : 'a second signal';
  return (
    `${preempted ? `preempted by ${preempted.sender}; ` : ''}stopping (${signal}): ${rankSignal ?? 'SIGTERM'} to each rank's main process, then to the rest of its group ` +
    `once it has exited; SIGKILL to what is left in ${gracePeriodMs / 1000} s (${again}: now).`
  );
}
