import { parseStacks } from '../args-runs.js';
import type { Command } from './command.js';

/** `ddprun stacks <id>`: every rank's Python stack of a live run. */
export const stacks: Command<'stacks'> = {
  name: 'stacks',
  parse: parseStacks,
  run: async (command, io) => (await import('../stacks.js')).runStacks(command.id, io),
};
