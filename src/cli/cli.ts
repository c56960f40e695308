import { DdprunError, UsageError } from '../errors.js';
import { flaggedOptions } from '../launch/option-table.js';
import { parseCli, runCommand } from './commands/index.js';
import { colorsFor } from './colors.js';
import { exitCodeForError } from '../exit-codes.js';
import { readGlobalFlags } from './global-flags.js';
import type { Io } from './io.js';
import { notifyStarter, takeNotifyFd } from './runs/detach-notify.js';
import { closeDeadTerminalsAtExit } from './terminal.js';
import { eventJson } from '../model/event-json.js';

// Start-up: what only a launch needs (resolving, spawning, rendering) is imported when a launch runs, so that
// `--help` and usage errors never load it; subcommands are loaded when used.

// launch() names its options in camelCase; a person at the terminal typed the flag. Only options whose
// unit is the same on both sides (not gracePeriodMs/rdzvTimeoutMs, which are seconds on the command line).
let flags: Record<string, string> | undefined;
function flagNames(): Record<string, string> {
  flags ??= {
    ...Object.fromEntries(
      flaggedOptions()
        .filter(({ flag }) => flag.value !== 'seconds-to-ms')
        .map(({ option, flag }) => [option, flag.spec.split(' ')[0] as string]),
    ),
    sbatchArgs: '--sbatch-arg',
    time: '--time',
    partition: '--partition',
    jobName: '--job-name',
    output: '--output',
  };
  return flags;
}

/** A usage error as one line, with launch()'s option names replaced by the flags the user typed. */
export function usageLine(message: string): string {
  const FLAGS = flagNames();
  return message
    .replace(/\s*\n\s*/g, ' ')
    .replace(
      /(the )?`(\w+)`( option)?/g,
      (whole, the: string | undefined, name: string, option: string | undefined) => {
        const flag = FLAGS[name];
        if (!flag) return whole;
        // "the `nprocPerNode` option" reads "--nproc-per-node".
        return option ? flag : `${the ?? ''}${flag}`;
      },
    )
    .replace(/(--[\w-]+) \(\1\)/g, '$1')
    .replace(/`(\w+): '(\w+)'`/g, (whole, name: string, value: string) =>
      FLAGS[name] ? `${FLAGS[name]} ${value}` : whole,
    );
}

/** What the person (or a program following --json) sees when the command failed; returns the exit code. */
function reportError(error: unknown, io: Io, json: boolean, verbose: boolean): number {
  const c = colorsFor(io.stderr, io.env);
  const message = error instanceof Error ? error.message : String(error);
  // A usage error is one line: what is wrong and how to fix it.
  const text = error instanceof UsageError ? usageLine(message) : message;
  io.stderr.write(`${c.red('error:')} ${text}\n`);
  if (verbose && error instanceof Error && error.stack) io.stderr.write(`${error.stack}\n`);
  const exitCode = exitCodeForError(error);
  // A detached launcher that could not start tells the command waiting for it.
  notifyStarter({ started: false, message: text, exitCode });
  // A program following --json gets a last event even when the launch could not run.
  if (json)
    io.stdout.write(
      eventJson(
        'error',
        {
          name: error instanceof Error ? error.name : 'Error',
          code: error instanceof DdprunError ? error.code : undefined,
          message: text,
          exitCode,
        },
        Date.now(),
      ),
    );
  return exitCode;
}

/** Runs the ddprun command line; returns the exit code (main.ts is the only place that exits). */
export async function main(
  argv: readonly string[],
  io: Io = { stdout: process.stdout, stderr: process.stderr, env: process.env },
): Promise<number> {
  let json = false;
  // In a detached launcher (see runs/detach.ts), the pipe to the command that started it; before anything can fail.
  takeNotifyFd(io.env);
  let verbose = Boolean(io.env.DDPRUN_DEBUG);
  try {
    const global = readGlobalFlags(argv);
    verbose ||= global.verbose;
    const command = parseCli(global.argv, io.env);
    json = 'output' in command && command.output.json;
    return await runCommand(command, io, argv);
  } catch (error) {
    return reportError(error, io, json, verbose);
  }
}

/** The process's command line (main.ts): the standard streams' errors handled, then main(). */
export async function runCli(argv: readonly string[]): Promise<number> {
  // `ddprun … | head` closes the pipe early (EPIPE), a closed terminal fails writes (EIO): the launch stops on its own
  // (see README, Beware) and nothing more is written there; any other error on these streams is a bug.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE' && error.code !== 'EIO') throw error;
    });
  }
  closeDeadTerminalsAtExit();
  return main(argv);
}
