import type { Command, OptionValues } from 'commander';
import { UsageError } from '../errors.js';
import type { LaunchOptions } from '../model/types.js';
import {
  ENTRY_FLAGS,
  LAUNCH_FLAGS,
  addFlags,
  entryOf,
  flagName,
  launchOptions,
  newCommand,
  runCommander,
  type OutputFlags,
  type Spec,
} from './flag-specs.js';

export type Printed = { kind: 'print'; text: string };

/**
 * The steps every command's parser takes: build its commander command (help text captured), run it on `tokens`
 * (help and version become a `print` command, commander's errors a UsageError), then read what was given: the
 * options (by commander's camel-case keys) and the positional arguments.
 */
export function parseCommand<T>(
  name: string,
  tokens: readonly string[],
  build: (command: Command) => Command,
  read: (options: OptionValues, args: string[]) => T,
): T | Printed {
  const captured = { out: '' };
  const command = build(newCommand(name, captured));
  const printed = runCommander(command, [...tokens], captured);
  return printed ?? read(command.opts(), command.args);
}

/** The first positional argument (`name`) and the rest; a UsageError saying `missing` when there is none. */
export function firstArgument(positional: readonly string[], name: string, missing: string): [string, string[]] {
  const [first, ...rest] = positional;
  if (first === undefined) throw new UsageError(missing, name);
  return [first, rest];
}

/** For a command that takes flags only. */
export function noArguments(name: string, args: readonly string[]): void {
  if (args.length > 0)
    throw new UsageError(
      `\`ddprun ${name}\` takes no arguments, got \`${args.join(' ')}\`. See \`ddprun ${name} --help\`.`,
    );
}

/** The entry flags that exclude each other. */
function checkEntryFlags(raw: Record<string, unknown>): void {
  if (raw.module && raw.python === false)
    throw new UsageError('-m/--module and --no-python exclude each other. Keep one of them.', '--module');
}

/** A command that launches a script (`ddprun`, `ddprun slurm`): its own flags around the launch and entry flags. */
export function launchCommand(command: Command, before: Spec[], after: Spec[] = []): Command {
  for (const specs of [before, LAUNCH_FLAGS, ENTRY_FLAGS, after]) addFlags(command, specs);
  return command;
}

/** The long names of the flags among `specs` that take a value (`--nodes <n>`): the next token is theirs. */
export function valueFlagsOf(specs: readonly Spec[]): string[] {
  return specs.filter((s) => s.flags.includes('<')).map(flagName);
}

/** What a parsed launch command line asks for: the launch options, with the entry from the positional arguments. */
export function launchOf(
  raw: Record<string, unknown>,
  positional: readonly string[],
): { options: LaunchOptions; output: OutputFlags } {
  checkEntryFlags(raw);
  const { options, output } = launchOptions(raw);
  return { options: { ...options, entry: entryOf(raw, positional) }, output };
}

/**
 * The leading flags of `tokens` (up to the script, `train` or `--`) without a subcommand's own (`own`, with their
 * values), and the rest of `tokens` from the script on.
 */
export function splitOwnFlags(
  tokens: readonly string[],
  valueFlags: ReadonlySet<string>,
  own: ReadonlySet<string>,
): [string[], string[]] {
  const flags: string[] = [];
  let i = 0;
  while (i < tokens.length) {
    const token = tokens[i] as string;
    if (token === '--' || !token.startsWith('-') || token === '-') break;
    const eq = token.indexOf('=');
    const name = eq === -1 ? token : token.slice(0, eq);
    const width = eq === -1 && valueFlags.has(name) && i + 1 < tokens.length ? 2 : 1;
    if (!own.has(name)) flags.push(...tokens.slice(i, i + width));
    i += width;
  }
  return [flags, tokens.slice(i)];
}
