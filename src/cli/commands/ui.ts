import { parseUi } from '../args.js';
import type { Command } from './command.js';

/** `ddprun ui`: the dashboard of every recorded run. */
export const ui: Command<'ui'> = {
  name: 'ui',
  parse: parseUi,
  run: async (command, io) => (await import('../ui.js')).runUi(command, io),
};
