import { constants as osConstants } from 'node:os';
import type { Preemption } from '../../model/types.js';

// Which stops are preemptions. Node gives a signal handler no sender (no si_pid), so a SIGTERM is told apart by what
// is known around it: `ddprun stop` leaves a stop request in the run's folder before it signals, a scheduler does not.

/** The variable that names the scheduler's warning signal (`ddprun slurm --requeue` exports `SIGUSR1`). */
export const PREEMPT_SIGNAL_ENV = 'DDPRUN_PREEMPT_SIGNAL';

/** Signals a launcher never takes as the warning: its own stop signals, `ddprun stacks`' and uncatchable ones. */
const NOT_A_WARNING = new Set(['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGUSR2', 'SIGKILL', 'SIGSTOP', 'SIGPIPE', 'SIGCHLD']);

/** The scheduler's warning signal `env` names (`SIGUSR1` or `USR1`), when it names one ddprun can take as such. */
export function warningSignal(env: NodeJS.ProcessEnv = process.env): NodeJS.Signals | undefined {
  const value = env[PREEMPT_SIGNAL_ENV];
  if (!value) return undefined;
  const name = value.startsWith('SIG') ? value : `SIG${value}`;
  if (!Object.hasOwn(osConstants.signals, name) || NOT_A_WARNING.has(name)) return undefined;
  return name as NodeJS.Signals;
}

/** Who sent a signal from outside, as far as the environment tells (the scheduler ddprun runs under). */
export function senderOf(signal: NodeJS.Signals, env: NodeJS.ProcessEnv = process.env): string {
  const job = env.SLURM_JOB_ID;
  if (job && signal === warningSignal(env)) return `Slurm's warning before the end of job ${job} (--signal)`;
  if (job) return `Slurm (job ${job}: its time limit, scancel or a preemption; Slurm's SIGTERM gives no reason)`;
  if (env.KUBERNETES_SERVICE_HOST)
    return `Kubernetes (the pod${env.HOSTNAME ? ` ${env.HOSTNAME}` : ''} is terminating)`;
  return 'a process outside ddprun (Node cannot tell which: a signal handler gets no sender pid)';
}

/**
 * Whether a signal ddprun got stops it as a preemption: the scheduler's warning signal, or a SIGTERM that no
 * `ddprun stop` (nor the dashboard's Stop) asked for. Ctrl-C and SIGHUP are a person's, never a preemption.
 */
export function preemptionOf(
  signal: NodeJS.Signals,
  stopRequested: boolean,
  env: NodeJS.ProcessEnv = process.env,
): Preemption | undefined {
  const preempts = signal === warningSignal(env) || (signal === 'SIGTERM' && !stopRequested);
  return preempts ? { signal, sender: senderOf(signal, env) } : undefined;
}

/**
 * The argv prefix that makes the ranks ignore the scheduler's warning signal. Slurm sends it to every process of the
 * step, the ranks and their DataLoader workers too (whose default action for SIGUSR1 is to die), while only ddprun
 * should act on it, by stopping the ranks leader-first. An ignored signal stays ignored across exec and fork; a rank
 * may still install a handler of its own. The name is one `warningSignal` checked against the OS's signal names.
 */
export function warningIgnoredPrefix(env: NodeJS.ProcessEnv = process.env): string[] {
  const warning = warningSignal(env);
  return warning ? ['/bin/sh', '-c', `trap '' ${warning.slice(3)}; exec "$@"`, 'sh'] : [];
}
