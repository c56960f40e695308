import { parseStop } from '../args-runs.js';
import type { Command } from './command.js';

/** `ddprun stop <id>`: stop a run as Ctrl-C would, and wait for its end. */
export const stop: Command<'stop'> = {
  name: 'stop',
  parse: parseStop,
  run: async (command, io) => (await import('../runs/stop.js')).runStop(command, io),
};
