import { UsageError } from '../errors.js';
import { parseCli } from './args.js';
import { colorsFor } from './colors.js';
import { exitCodeForError } from './exit.js';
import { runLaunch, type Io } from './run-launch.js';
import { applySlurmDefaults, checkSlurmLayout } from './slurm-env.js';

// launch() names its options in camelCase; a person at the terminal typed the flag. Only options whose
// unit is the same on both sides (not gracePeriodMs/rdzvTimeoutMs, which are seconds on the command line).
const FLAGS: Record<string, string> = {
  nprocPerNode: '--nproc-per-node',
  nnodes: '--nnodes',
  nodeRank: '--node-rank',
  masterAddr: '--master-addr',
  masterPort: '--master-port',
  maxRestarts: '--max-restarts',
  runId: '--run-id',
  logDir: '--log-dir',
  redirects: '--redirects',
  tee: '--tee',
  localRanksFilter: '--local-ranks-filter',
  python: '--python',
  rdzvBackend: '--rdzv-backend',
  rdzvEndpoint: '--rdzv-endpoint',
  rdzvId: '--rdzv-id',
  sbatchArgs: '--sbatch-arg',
  time: '--time',
  partition: '--partition',
  jobName: '--job-name',
  output: '--output',
};

/** A usage error as one line, with launch()'s option names replaced by the flags the user typed. */
export function usageLine(message: string): string {
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

/** Runs the ddprun command line; returns the exit code (main.ts is the only place that exits). */
export async function main(
  argv: readonly string[],
  io: Io = { stdout: process.stdout, stderr: process.stderr, env: process.env },
): Promise<number> {
  let json = false;
  try {
    const command = parseCli(argv);
    json = 'output' in command && command.output.json;
    switch (command.kind) {
      case 'print':
        io.stdout.write(command.text);
        return 0;
      case 'launch': {
        // Inside a Slurm allocation, the allocation fills what the command line left out.
        checkSlurmLayout(io.env, command.options);
        const { options, slurm } = applySlurmDefaults(command.options, io.env, {
          autoNproc: !('command' in command.options.entry),
        });
        return await runLaunch(options, command.output, io, slurm);
      }
      case 'train': {
        checkSlurmLayout(io.env, command.options);
        // The trainer's ranks per node come from its device= argument, not from Slurm.
        const { options, slurm } = applySlurmDefaults(command.options, io.env, { fillNproc: false });
        const { trainerLaunchOptions } = await import('./trainer-mode.js');
        return await runLaunch(await trainerLaunchOptions(options, command.trainer), command.output, io, slurm);
      }
      // Subcommands other than a launch are loaded when used: a launch's start-up pays only for itself.
      case 'slurm':
        return await (await import('./slurm-submit.js')).runSlurmSubmit(command.submit, command.output, io);
      case 'doctor':
        return await (await import('./doctor.js')).runDoctor({ fix: command.fix }, io);
      case 'resume': {
        // Every refusal (not a trainer run, completed, no last.pt, a key Ultralytics does not let change) comes first.
        const plan = (await import('../launch/resume-run.js')).planResume(command.id, command.overrides);
        return await runLaunch(plan.options, command.output, io, undefined, {
          argv: plan.argv,
          resumedFrom: plan.from,
        });
      }
      case 'gc':
        return await (await import('./gc.js')).runGc(io);
    }
  } catch (error) {
    const c = colorsFor(io.stderr, io.env);
    const message = error instanceof Error ? error.message : String(error);
    // A usage error is one line: what is wrong and how to fix it.
    const text = error instanceof UsageError ? usageLine(message) : message;
    io.stderr.write(`${c.red('error:')} ${text}\n`);
    if (io.env.DDPRUN_DEBUG && error instanceof Error && error.stack) io.stderr.write(`${error.stack}\n`);
    const exitCode = exitCodeForError(error);
    // A program following --json gets a last event even when the launch could not run.
    if (json)
      io.stdout.write(
        `${JSON.stringify({ event: 'error', name: error instanceof Error ? error.name : 'Error', message: text, exitCode })}\n`,
      );
    return exitCode;
  }
}
