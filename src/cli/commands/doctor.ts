import { parseDoctor } from '../args.js';
import type { Command } from './command.js';

/** `ddprun doctor [--fix] [--json]`: what a launch needs, and whether this machine has it. */
export const doctor: Command<'doctor'> = {
  name: 'doctor',
  parse: parseDoctor,
  run: async (command, io) => (await import('../doctor.js')).runDoctor({ fix: command.fix, json: command.json }, io),
};
