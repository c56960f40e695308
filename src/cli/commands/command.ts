import type { CliCommand } from '../args.js';
import type { Io } from '../io.js';

/** The kinds of command a command line parses to (`print`: a help text, which every command may give instead). */
export type Kind = Exclude<CliCommand['kind'], 'print'>;
export type CommandOf<K extends Kind> = Extract<CliCommand, { kind: K }>;

/**
 * One command of `ddprun`: its word (the launch, which has none, is the default), its parser and its runner. The
 * parser reads the arguments after the word (a UsageError for bad ones; its help as `{ kind: 'print' }`); the runner
 * loads what it needs when it runs (start-up: `--help` and usage errors load no runner) and resolves the exit code.
 */
export interface Command<K extends Kind> {
  name: K;
  parse: (argv: readonly string[], env: Readonly<Record<string, string | undefined>>) => CliCommand;
  run: (command: CommandOf<K>, io: Io, argv: readonly string[]) => Promise<number> | number;
}
