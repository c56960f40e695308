import type { CliCommand, OutputFlags } from '../args.js';
import { parseLaunch } from '../args.js';
import type { Io } from '../io.js';
import { isDetachedLauncher } from '../runs/detach-notify.js';
import type { LaunchOptions } from '../../model/types.js';
import type { Command } from './command.js';

/** `--detach`: in the command a person typed, start the detached launcher; in that launcher, run the launch. */
async function detach(options: LaunchOptions, output: OutputFlags, io: Io, argv: readonly string[]): Promise<number> {
  const { runDetach, runDetachedLauncher } = await import('../runs/detach.js');
  if (isDetachedLauncher()) return runDetachedLauncher(options, io, argv);
  return runDetach(options, output, io, argv);
}

/** The command with what the pod's engine says (docs/kubernetes.md); waits for the master's name to resolve. */
async function withKubernetes<T extends Extract<CliCommand, { kind: 'launch' | 'train' }>>(
  command: T,
  io: Io,
): Promise<T> {
  const { applyK8sDefaults, waitForMaster } = await import('../k8s-env.js');
  const { options, output, filled } = applyK8sDefaults(command.options, command.output, io.env);
  if (filled && !output.dryRun) await waitForMaster(options, io);
  return { ...command, options, output };
}

/**
 * In a Slurm job requeued after a preemption (`ddprun slurm --requeue`, SLURM_RESTART_COUNT > 0): resumes the
 * preempted trainer run of the job as `ddprun resume` would, on this allocation's nodes; undefined when there is none.
 */
async function resumeRequeuedJob(command: Extract<CliCommand, { kind: 'train' }>, io: Io): Promise<number | undefined> {
  const { preemptedRunOfJob } = await import('../slurm-requeue.js');
  const preempted = preemptedRunOfJob(io.env);
  if (!preempted) return undefined;
  const plan = (await import('../../launch/resume-run.js')).planResume(preempted.id);
  // The requeued job may run on other nodes: the allocation says where node 0 is, not the old record.
  const { nnodes: _n, nodeRank: _r, masterAddr: _a, masterPort: _p, ...rest } = plan.options;
  const { applySlurmDefaults } = await import('../../slurm/launch-defaults.js');
  const { options, slurm } = applySlurmDefaults(rest, io.env, { fillNproc: false });
  const epoch = plan.from.epoch === undefined ? '' : ` (epoch ${plan.from.epoch} done)`;
  io.stderr.write(
    `ddprun: Slurm requeued job ${io.env.SLURM_JOB_ID} (restart ${io.env.SLURM_RESTART_COUNT}): resuming run ${preempted.id} from ${plan.from.checkpoint}${epoch}\n`,
  );
  const { runLaunch } = await import('../run-launch.js');
  return await runLaunch(options, command.output, io, slurm, { argv: plan.argv, resumedFrom: plan.from });
}

/**
 * In a pod that a JobSet recreated with the rest of its group (`--group-restarts`, DDPRUN_K8S_RESTART > 0): resumes
 * the job's trainer run as `ddprun resume` would, on this restart's pods; undefined when there is none.
 */
async function resumeRestartedPod(
  command: Extract<CliCommand, { kind: 'train' }>,
  io: Io,
): Promise<number | undefined> {
  const { restartedRunOfJob } = await import('../k8s-restart.js');
  const previous = restartedRunOfJob(io.env);
  if (!previous) return undefined;
  const plan = (await import('../../launch/resume-run.js')).planResume(previous.id);
  // The recreated pods have new addresses: the pod's engine says where node 0 is, as on the first start.
  const { nnodes: _n, nodeRank: _r, masterAddr: _a, masterPort: _p, ...rest } = plan.options;
  const layout = { nnodes: command.options.nnodes, masterPort: command.options.masterPort };
  const { applyK8sDefaults, waitForMaster } = await import('../k8s-env.js');
  const { options, output } = applyK8sDefaults({ ...rest, ...layout }, command.output, io.env);
  if (!output.dryRun) await waitForMaster(options, io);
  const epoch = plan.from.epoch === undefined ? '' : ` (epoch ${plan.from.epoch} done)`;
  io.stderr.write(
    `ddprun: JobSet restart ${io.env.DDPRUN_K8S_RESTART} of ${io.env.DDPRUN_K8S_SERVICE}: resuming run ${previous.id} from ${plan.from.checkpoint}${epoch}\n`,
  );
  const { runLaunch } = await import('../run-launch.js');
  return await runLaunch(options, output, io, undefined, { argv: plan.argv, resumedFrom: plan.from });
}

/** A launch (plain or a trainer's) with what the environment adds: Slurm's layout, torchrun's per-run log folder. */
export async function launchCommand(
  command: Extract<CliCommand, { kind: 'launch' | 'train' }>,
  io: Io,
  argv: readonly string[],
): Promise<number> {
  const { applySlurmDefaults, checkSlurmLayout } = await import('../../slurm/launch-defaults.js');
  // Inside a Slurm allocation, the allocation fills what the command line left out.
  checkSlurmLayout(io.env, command.options);
  // Inside a pod, the engine that started it fills what the command line left out.
  if (io.env.KUBERNETES_SERVICE_HOST) command = await withKubernetes(command, io);
  let launchOptions: LaunchOptions;
  let slurm;
  if (command.kind === 'launch') {
    const { entry } = command.options;
    if ('script' in entry) (await import('../did-you-mean.js')).refuseSubcommandTypo(entry.script, command.options.cwd);
    ({ options: launchOptions, slurm } = applySlurmDefaults(command.options, io.env, {
      autoNproc: !('command' in command.options.entry),
    }));
    const { refuseFileTimer } = await import('../torchrun-compat.js');
    refuseFileTimer(io.env, launchOptions);
  } else {
    // A job that `ddprun slurm --requeue` requeued after a preemption: the trainer run goes on from its last.pt.
    const resumed = (await resumeRequeuedJob(command, io)) ?? (await resumeRestartedPod(command, io));
    if (resumed !== undefined) return resumed;
    // The trainer's ranks per node come from its device= argument, not from Slurm.
    const applied = applySlurmDefaults(command.options, io.env, { fillNproc: false });
    slurm = applied.slurm;
    const { trainerLaunchOptions } = await import('../trainer-mode.js');
    launchOptions = trainerLaunchOptions(applied.options, command.trainer);
  }
  // torchrun: each run logs under its own `<log dir>/<run id>_<random>/`, never into another run's files.
  if (launchOptions.logDir !== undefined) {
    const { perRunLogDir } = await import('../../launch/resolve/output.js');
    launchOptions.logDir = perRunLogDir(launchOptions.logDir, launchOptions.runId);
  }
  // A name names one live run at a time (a finished run's name may be given again: it then finds the new run).
  if (launchOptions.name !== undefined && !command.output.dryRun)
    (await import('../runs/rm.js')).refuseLiveName(launchOptions.name);
  if (command.detach) return await detach(launchOptions, command.output, io, argv);
  const { runLaunch } = await import('../run-launch.js');
  return await runLaunch(launchOptions, command.output, io, slurm, { argv });
}

/** `ddprun [options] script.py …` (also `-m module`, `--no-python command`): the command when no subcommand is named. */
export const launch: Command<'launch'> = { name: 'launch', parse: parseLaunch, run: launchCommand };
