import { parseShow } from '../args-runs.js';
import type { Command } from './command.js';

/** `ddprun show <id> [--json]`: a run's summary. */
export const show: Command<'show'> = {
  name: 'show',
  parse: parseShow,
  run: async (command, io) => (await import('../runs/show.js')).runShow(command, io),
};
