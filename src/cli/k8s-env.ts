import { hostname } from 'node:os';
import { UsageError } from '../errors.js';
import { K8sEnvProblem, PET_ENGINE, k8sLaunchDefaults, type K8sDefaults } from '../k8s/env.js';
import { waitForName } from '../k8s/resolve-name.js';
import type { LaunchOptions } from '../model/types.js';
import type { OutputFlags } from './flag-specs.js';
import type { Io } from './io.js';

/** The options an engine's variables can fill, with their flags, in the order `--dry-run` lists them. */
const K8S_OPTIONS = [
  ['nnodes', '--nnodes'],
  ['nodeRank', '--node-rank'],
  ['masterAddr', '--master-addr'],
  ['masterPort', '--master-port'],
] as const;

/** --rdzv-timeout's default, ms. */
const RDZV_TIMEOUT_MS = 900_000;

/** The engine's values, read from `env` (its HOSTNAME, else this machine's host name), as a usage error when unusable. */
function readDefaults(env: NodeJS.ProcessEnv): K8sDefaults | undefined {
  try {
    return k8sLaunchDefaults(env, env.HOSTNAME || hostname());
  } catch (error) {
    if (error instanceof K8sEnvProblem)
      throw new UsageError(
        `${error.message} ddprun reads it because this is a Kubernetes pod (KUBERNETES_SERVICE_HOST is set); pass the launch flags yourself or fix the variable.`,
        error.variable,
      );
    throw error;
  }
}

/**
 * Inside a pod (KUBERNETES_SERVICE_HOST set), fills --nnodes, --node-rank, --master-addr and --master-port from the
 * engine that started it where the command line (or PET_*) did not give them, and adds a `--dry-run` note per value
 * naming its source. Outside Kubernetes, or on one node, returns the options and output unchanged.
 */
export function applyK8sDefaults<T extends Omit<LaunchOptions, 'entry'>>(
  options: T,
  output: OutputFlags,
  env: NodeJS.ProcessEnv,
): { options: T; output: OutputFlags; filled: boolean } {
  const defaults = readDefaults(env);
  if (defaults === undefined || options.nnodes === 1) return { options, output, filled: false };
  const filled: Record<string, unknown> = { ...options };
  const notes = [
    ...(output.notes ?? []),
    `kubernetes: this pod's engine is ${defaults.engine}: values from it unless given on the command line`,
  ];
  let any = false;
  for (const [option, flag] of K8S_OPTIONS) {
    const from = defaults[option];
    if (from === undefined) continue;
    if (options[option] !== undefined) {
      // A script's launch has read PET_* as flags already: the value is the variable's.
      const fromPet = defaults.engine === PET_ENGINE && String(options[option]) === String(from.value);
      // ... and its master's name is as new to cluster DNS as any engine's.
      any ||= fromPet;
      notes.push(
        fromPet
          ? `  ${flag} ${from.value} from ${from.source}`
          : `  ${flag} ${String(options[option])} from the command line (${defaults.engine}: ${from.value} from ${from.source})`,
      );
      continue;
    }
    filled[option] = from.value;
    any = true;
    notes.push(`  ${flag} ${from.value} from ${from.source}`);
  }
  return { options: filled as T, output: { ...output, notes }, filled: any };
}

/** Waits (within --rdzv-timeout) until the master's name that the engine gave resolves: DNS lags behind the pods. */
export async function waitForMaster(options: Omit<LaunchOptions, 'entry'>, io: Io): Promise<void> {
  if (options.masterAddr === undefined) return;
  await waitForName(options.masterAddr, options.rdzvTimeoutMs ?? RDZV_TIMEOUT_MS, (reason) =>
    io.stderr.write(
      `ddprun: waiting for ${options.masterAddr} to resolve (${reason}; cluster DNS lags behind new pods)\n`,
    ),
  );
}
