import { parseTrain } from '../args.js';
import { launchCommand } from './launch.js';
import type { Command } from './command.js';

/** `ddprun train module.ClassName key=value…`: an Ultralytics-style trainer on all its devices. */
export const train: Command<'train'> = {
  name: 'train',
  parse: parseTrain,
  run: launchCommand,
};
