import { parsePs } from '../args-runs.js';
import type { Command } from './command.js';

/** `ddprun ps [--all] [--json]`: the runs of this machine's run store. */
export const ps: Command<'ps'> = {
  name: 'ps',
  parse: parsePs,
  run: async (command, io) => (await import('../runs/ps.js')).runPs(command, io),
};
