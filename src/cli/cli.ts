import { DdprunError, UsageError } from '../errors.js';
import { flaggedOptions } from '../launch/option-table.js';
import { parseCli, type CliCommand, type OutputFlags } from './args.js';
import type { LaunchOptions } from '../model/types.js';
import { colorsFor } from './colors.js';
import { EXIT_OK, exitCodeForError } from '../exit-codes.js';
import { readGlobalFlags } from './global-flags.js';
import type { Io } from './io.js';
import { isDetachedLauncher, notifyStarter, takeNotifyFd } from './runs/detach-notify.js';
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

/** `--detach`: in the command a person typed, start the detached launcher; in that launcher, run the launch. */
async function detach(options: LaunchOptions, output: OutputFlags, io: Io, argv: readonly string[]): Promise<number> {
  const { runDetach, runDetachedLauncher } = await import('./runs/detach.js');
  if (isDetachedLauncher()) return runDetachedLauncher(options, io, argv);
  return runDetach(options, output, io, argv);
}

/**
 * In a Slurm job requeued after a preemption (`ddprun slurm --requeue`, SLURM_RESTART_COUNT > 0): resumes the
 * preempted trainer run of the job as `ddprun resume` would, on this allocation's nodes; undefined when there is none.
 */
async function resumeRequeuedJob(command: Extract<CliCommand, { kind: 'train' }>, io: Io): Promise<number | undefined> {
  const { preemptedRunOfJob } = await import('./slurm-requeue.js');
  const preempted = preemptedRunOfJob(io.env);
  if (!preempted) return undefined;
  const plan = (await import('../launch/resume-run.js')).planResume(preempted.id);
  // The requeued job may run on other nodes: the allocation says where node 0 is, not the old record.
  const { nnodes: _n, nodeRank: _r, masterAddr: _a, masterPort: _p, ...rest } = plan.options;
  const { applySlurmDefaults } = await import('../slurm/launch-defaults.js');
  const { options, slurm } = applySlurmDefaults(rest, io.env, { fillNproc: false });
  const epoch = plan.from.epoch === undefined ? '' : ` (epoch ${plan.from.epoch} done)`;
  io.stderr.write(
    `ddprun: Slurm requeued job ${io.env.SLURM_JOB_ID} (restart ${io.env.SLURM_RESTART_COUNT}): resuming run ${preempted.id} from ${plan.from.checkpoint}${epoch}\n`,
  );
  const { runLaunch } = await import('./run-launch.js');
  return await runLaunch(options, command.output, io, slurm, { argv: plan.argv, resumedFrom: plan.from });
}

/** The command with what the pod's engine says (docs/kubernetes.md); waits for the master's name to resolve. */
async function withKubernetes<T extends Extract<CliCommand, { kind: 'launch' | 'train' }>>(
  command: T,
  io: Io,
): Promise<T> {
  const { applyK8sDefaults, waitForMaster } = await import('./k8s-env.js');
  const { options, output, filled } = applyK8sDefaults(command.options, command.output, io.env);
  if (filled && !output.dryRun) await waitForMaster(options, io);
  return { ...command, options, output };
}

/** A launch (plain or a trainer's) with what the environment adds: Slurm's layout, torchrun's per-run log folder. */
async function launchCommand(
  command: Extract<CliCommand, { kind: 'launch' | 'train' }>,
  io: Io,
  argv: readonly string[],
): Promise<number> {
  const { applySlurmDefaults, checkSlurmLayout } = await import('../slurm/launch-defaults.js');
  // Inside a Slurm allocation, the allocation fills what the command line left out.
  checkSlurmLayout(io.env, command.options);
  // Inside a pod, the engine that started it fills what the command line left out.
  if (io.env.KUBERNETES_SERVICE_HOST) command = await withKubernetes(command, io);
  let launchOptions: LaunchOptions;
  let slurm;
  if (command.kind === 'launch') {
    const { entry } = command.options;
    if ('script' in entry) (await import('./did-you-mean.js')).refuseSubcommandTypo(entry.script, command.options.cwd);
    ({ options: launchOptions, slurm } = applySlurmDefaults(command.options, io.env, {
      autoNproc: !('command' in command.options.entry),
    }));
    const { refuseFileTimer } = await import('./torchrun-compat.js');
    refuseFileTimer(io.env, launchOptions);
  } else {
    // A job that `ddprun slurm --requeue` requeued after a preemption: the trainer run goes on from its last.pt.
    const resumed = await resumeRequeuedJob(command, io);
    if (resumed !== undefined) return resumed;
    // The trainer's ranks per node come from its device= argument, not from Slurm.
    const applied = applySlurmDefaults(command.options, io.env, { fillNproc: false });
    slurm = applied.slurm;
    const { trainerLaunchOptions } = await import('./trainer-mode.js');
    launchOptions = trainerLaunchOptions(applied.options, command.trainer);
  }
  // torchrun: each run logs under its own `<log dir>/<run id>_<random>/`, never into another run's files.
  if (launchOptions.logDir !== undefined) {
    const { perRunLogDir } = await import('../launch/resolve/output.js');
    launchOptions.logDir = perRunLogDir(launchOptions.logDir, launchOptions.runId);
  }
  // A name names one live run at a time (a finished run's name may be given again: it then finds the new run).
  if (launchOptions.name !== undefined && !command.output.dryRun)
    (await import('./runs/rm.js')).refuseLiveName(launchOptions.name);
  if (command.detach) return await detach(launchOptions, command.output, io, argv);
  const { runLaunch } = await import('./run-launch.js');
  return await runLaunch(launchOptions, command.output, io, slurm, { argv });
}

/** Runs a parsed command; each module is loaded when its command runs, so that a launch pays only for itself. */
async function runCommand(command: CliCommand, io: Io, argv: readonly string[]): Promise<number> {
  switch (command.kind) {
    case 'print':
      io.stdout.write(command.text);
      return EXIT_OK;
    case 'launch':
    case 'train':
      return await launchCommand(command, io, argv);
    case 'slurm':
      return await (await import('./slurm-submit.js')).runSlurmSubmit(command.submit, command.output, io);
    case 'k8s':
      return await (await import('./k8s-submit.js')).runK8s(command.submit, command.output, io);
    case 'doctor':
      return await (await import('./doctor.js')).runDoctor({ fix: command.fix, json: command.json }, io);
    case 'ui':
      return await (await import('./ui.js')).runUi(command, io);
    case 'resume': {
      // Every refusal (not a trainer run, completed, no last.pt, a key Ultralytics does not let change) comes first.
      const resume = await import('../launch/resume-run.js');
      const plan = resume.planResume(command.id, command.overrides);
      // One resume of a run at a time: held until the resumed run has ended.
      const release = resume.claimResume(plan);
      try {
        return await (
          await import('./run-launch.js')
        ).runLaunch(plan.options, command.output, io, undefined, { argv: plan.argv, resumedFrom: plan.from });
      } finally {
        release();
      }
    }
    case 'gc':
      return await (await import('./gc.js')).runGc(command, io);
    case 'ps':
      return (await import('./runs/ps.js')).runPs(command, io);
    case 'logs':
      return await (await import('./runs/logs.js')).runLogs(command, io);
    case 'show':
      return (await import('./runs/show.js')).runShow(command, io);
    case 'stop':
      return await (await import('./runs/stop.js')).runStop(command, io);
    case 'stacks':
      return await (await import('./stacks.js')).runStacks(command.id, io);
    case 'rm':
      return (await import('./runs/rm.js')).runRm(command.ids, io);
  }
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
