import { signalOwnedGroup, type OwnedGroup } from './terminate.js';

/**
 * Ctrl-Z for the ranks. The terminal's SIGTSTP reaches only ddprun's process group; each rank is a session of its
 * own, and an orphaned one, where the kernel discards SIGTSTP. So on SIGTSTP: SIGSTOP every rank group, stop ddprun
 * itself (its own handler removed, SIGTSTP raised: the shell sees a stopped job), and once continued (`fg`, `bg`)
 * SIGCONT the groups. Returns the disposer.
 */
export function forwardJobControl(groups: () => readonly OwnedGroup[]): () => void {
  const onStop = () => {
    for (const group of groups()) signalOwnedGroup(group, 'SIGSTOP');
    process.off('SIGTSTP', onStop);
    try {
      // With no listener left, SIGTSTP has its default action again: ddprun stops here until SIGCONT. Where the
      // kernel discards it (ddprun's own group orphaned), ddprun goes on, and so do the ranks, just below.
      process.kill(process.pid, 'SIGTSTP');
    } finally {
      process.on('SIGTSTP', onStop);
      for (const group of groups()) signalOwnedGroup(group, 'SIGCONT');
    }
  };
  process.on('SIGTSTP', onStop);
  return () => process.off('SIGTSTP', onStop);
}
