import { parseLogs } from '../args-runs.js';
import type { Command } from './command.js';

/** `ddprun logs <id> [-f]`: a run's output. */
export const logs: Command<'logs'> = {
  name: 'logs',
  parse: parseLogs,
  run: async (command, io) => (await import('../runs/logs.js')).runLogs(command, io),
};
