import { parseRm } from '../args-runs.js';
import type { Command } from './command.js';

/** `ddprun rm <id>…`: remove finished runs from the run store. */
export const rm: Command<'rm'> = {
  name: 'rm',
  parse: parseRm,
  run: async (command, io) => (await import('../runs/rm.js')).runRm(command.ids, io),
};
