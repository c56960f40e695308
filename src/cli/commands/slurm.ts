import { parseTrain } from '../args.js';
import { parseSlurm } from '../args-slurm.js';
import type { Command } from './command.js';

/** `ddprun slurm …`: the same launch as a Slurm batch job. */
export const slurm: Command<'slurm'> = {
  name: 'slurm',
  parse: (argv) => parseSlurm(argv, parseTrain),
  run: async (command, io) => (await import('../slurm-submit.js')).runSlurmSubmit(command.submit, command.output, io),
};
