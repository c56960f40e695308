// The registry of ddprun's commands: one file each ({ name, parse, run }), one table here. A kind of command (or a
// subcommand word of argv.ts's SUBCOMMANDS) without its entry fails to compile.
import type { CliCommand } from '../args.js';
import { SUBCOMMANDS } from '../argv.js';
import type { Io } from '../io.js';
import { EXIT_OK } from '../../exit-codes.js';
import type { Command, Kind } from './command.js';
import { doctor } from './doctor.js';
import { gc } from './gc.js';
import { k8s } from './k8s.js';
import { launch } from './launch.js';
import { logs } from './logs.js';
import { ps } from './ps.js';
import { resume } from './resume.js';
import { rm } from './rm.js';
import { show } from './show.js';
import { slurm } from './slurm.js';
import { stacks } from './stacks.js';
import { stop } from './stop.js';
import { train } from './train.js';
import { ui } from './ui.js';

export const COMMANDS: { [K in Kind]: Command<K> } = {
  launch,
  train,
  doctor,
  gc,
  slurm,
  k8s,
  resume,
  ps,
  logs,
  show,
  stop,
  stacks,
  ui,
  rm,
};

/** Turns `process.argv.slice(2)` (after the global flags) into a command: a subcommand word first, else a launch; throws UsageError for anything malformed. Pure. */
export function parseCli(argv: readonly string[], env: Readonly<Record<string, string | undefined>> = {}): CliCommand {
  const [first, ...rest] = argv;
  const sub = SUBCOMMANDS.find((name) => name === first);
  return sub === undefined ? COMMANDS.launch.parse(argv, env) : COMMANDS[sub].parse(rest, env);
}

/** Runs a parsed command; each command loads its modules when it runs, so that a launch pays only for itself. */
export async function runCommand(command: CliCommand, io: Io, argv: readonly string[]): Promise<number> {
  if (command.kind === 'print') {
    io.stdout.write(command.text);
    return EXIT_OK;
  }
  const entry = COMMANDS[command.kind] as Command<Kind>;
  return await entry.run(command, io, argv);
}
