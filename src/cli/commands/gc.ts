import { parseGc } from '../args-runs.js';
import type { Command } from './command.js';

/** `ddprun gc [--dry-run]`: clean up after killed launches; prune old runs. */
export const gc: Command<'gc'> = {
  name: 'gc',
  parse: parseGc,
  run: async (command, io) => (await import('../gc.js')).runGc(command, io),
};
