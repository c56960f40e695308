import { isatty } from 'node:tty';
import { UsageError } from '../../errors.js';
import type { ResolvedOptions } from '../../model/types.js';
import { validateBoolean } from '../resolve/validators.js';

// `interactive`: the one rank shown on this node gets ddprun's own stdin, stdout and stderr (the terminal), so that
// `breakpoint()`, `input()` and `isatty()` behave as under torchrun. It still runs in its own process group (and
// session): ddprun is the terminal's foreground job, gets Ctrl-C and Ctrl-Z, and tears the whole group down as always.

/** What the check needs to know of the launch. */
type Shape = Pick<ResolvedOptions, 'backend' | 'nprocPerNode' | 'localRanksFilter' | 'entry' | 'nodeRank'>;

/** The local ranks the console shows, i.e. those that would get the terminal. */
function shownRanks({ nprocPerNode, localRanksFilter }: Pick<Shape, 'nprocPerNode' | 'localRanksFilter'>): number[] {
  return Array.from({ length: nprocPerNode }, (_, rank) => rank).filter((rank) => localRanksFilter.has(rank));
}

/**
 * Checks `interactive` before anything runs: the native backend (torchrun's agent would sit between the rank and the
 * terminal), exactly one rank shown on this node, not rank 0 of a trainer (the launcher follows the training through
 * rank 0's output, which the terminal would take), and a terminal on stdin (`terminal` false skips that check, for a
 * launch prepared here and run elsewhere).
 */
export function resolveInteractive(value: unknown, shape: Shape, terminal = true): boolean {
  if (!validateBoolean('interactive', value, false)) return false;
  if (shape.backend === 'torchrun')
    throw new UsageError(
      'interactive (--interactive) gives one rank the terminal, which the torchrun backend cannot: its agent holds the ranks’ output. Use the native backend.',
      'interactive',
    );
  const shown = shownRanks(shape);
  if (shown.length !== 1)
    throw new UsageError(
      `interactive (--interactive) gives the terminal to one rank, but ${shown.length === 0 ? 'no rank is' : `${shown.length} ranks (local ${shown.join(', ')}) are`} shown on this node. Select one with --local-ranks-filter (localRanksFilter), or run one rank.`,
      'interactive',
    );
  if ('trainer' in shape.entry && shape.nodeRank === 0 && shown[0] === 0)
    throw new UsageError(
      'interactive (--interactive) would give rank 0 the terminal, but `ddprun train` follows the run (its run folder, epochs, where a restart resumes) through rank 0’s output. Give the terminal to another rank (--local-ranks-filter 1).',
      'interactive',
    );
  if (terminal && !isatty(0))
    throw new UsageError(
      'interactive (--interactive) gives a rank the terminal, but ddprun’s stdin is not a terminal. Run it from a terminal, or leave the flag out.',
      'interactive',
    );
  return true;
}

/** The local rank that gets the terminal, or undefined (not interactive, or a torchrun agent). */
export function interactiveLocalRank(resolved: ResolvedOptions): number | undefined {
  return resolved.interactive ? shownRanks(resolved)[0] : undefined;
}

/** The CLI's ways of running that leave no terminal to give (`--json` owns stdout, `--detach` leaves the terminal). */
export function refuseInteractiveWith(options: { interactive?: boolean }, json: boolean, detach: boolean): void {
  if (!options.interactive || !(json || detach)) return;
  const flag = json ? '--json' : '--detach';
  throw new UsageError(
    `--interactive gives a rank the terminal, which ${flag} ${json ? 'keeps for its events' : 'leaves'}. Keep one of them.`,
    '--interactive',
  );
}
