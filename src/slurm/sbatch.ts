import { isAbsolute } from 'node:path';
import { UsageError, describeValue } from '../errors.js';
import { shellJoin, shellQuote } from './shell-quote.js';

/** What `ddprun slurm` asks of Slurm, and the ddprun command each node runs. */
export interface SbatchOptions {
  /** Nodes of the job (`--nodes`); one ddprun runs on each. */
  nodes: number;
  /** GPUs per node (`--gpus-per-node`). @default none requested */
  gpusPerNode?: number;
  /**
   * CPUs for the node's ddprun and all its ranks (`--cpus-per-task`, on sbatch and srun). @default Slurm's (often 1)
   */
  cpusPerNode?: number;
  /** Time limit in any format sbatch accepts (`--time`). @default the partition's */
  time?: string;
  /** Partition (`--partition`). @default the cluster's default */
  partition?: string;
  /** More sbatch options, one argument each (`--qos=high`), written after ddprun's so they win. @default [] */
  sbatchArgs?: readonly string[];
  /** Job name (`--job-name`). @default 'ddprun' */
  jobName?: string;
  /** Output file pattern (`--output`), e.g. `ddprun-%j.out`. @default Slurm's (`slurm-%j.out`) */
  output?: string;
  /** Working directory of the job (`--chdir`). @default the directory sbatch runs in */
  chdir?: string;
  /** Variables exported before srun, on top of the submitting environment (sbatch's `--export=ALL`). @default {} */
  env?: Readonly<Record<string, string>>;
  /**
   * Directories appended to the job's PATH (after the inherited one), e.g. `['/usr/bin', '/bin']` so that
   * ddprun finds a system Python with torch even when the submitting PATH lacks them. @default []
   */
  pathAppend?: readonly string[];
  /**
   * Seconds before the time limit at which Slurm sends every node's ddprun the warning signal (`--signal=USR1@N`,
   * without `B:`: every task of every step, not the batch shell); ddprun then stops leader-first, as `preempted`.
   * @default no warning
   */
  signalBeforeS?: number;
  /** `--requeue`: on the warning, node 0's ddprun requeues the job (`scontrol requeue`) once its ranks have stopped. */
  requeue?: boolean;
  /** Absolute path of the Node.js binary on the nodes, usually `process.execPath`. */
  nodePath: string;
  /** Absolute path of ddprun's CLI script on the nodes. */
  ddprunPath: string;
  /** ddprun's arguments on each node: options, then the script and its arguments. */
  ddprunArgs: readonly string[];
}

interface FilledSbatchOptions extends Required<
  Omit<SbatchOptions, 'gpusPerNode' | 'cpusPerNode' | 'time' | 'partition' | 'output' | 'chdir' | 'signalBeforeS'>
> {
  signalBeforeS: number | undefined;
  gpusPerNode: number | undefined;
  cpusPerNode: number | undefined;
  time: string | undefined;
  partition: string | undefined;
  output: string | undefined;
  chdir: string | undefined;
}

/**
 * Writes the batch script that runs one ddprun per node of the allocation, so that a user never
 * writes sbatch boilerplate. Every value is quoted: user data is never interpreted, neither by
 * sbatch's `#SBATCH` parser nor by the shell.
 */
export function renderSbatchScript(options: SbatchOptions): string {
  const opts = normalizeSbatchOptions(options);
  const directives: string[] = [`--job-name=${opts.jobName}`, `--nodes=${opts.nodes}`, '--ntasks-per-node=1'];
  if (opts.cpusPerNode !== undefined) directives.push(`--cpus-per-task=${opts.cpusPerNode}`);
  if (opts.gpusPerNode !== undefined) directives.push(`--gpus-per-node=${opts.gpusPerNode}`);
  if (opts.time !== undefined) directives.push(`--time=${opts.time}`);
  if (opts.partition !== undefined) directives.push(`--partition=${opts.partition}`);
  if (opts.chdir !== undefined) directives.push(`--chdir=${opts.chdir}`);
  if (opts.output !== undefined) directives.push(`--output=${opts.output}`);
  // A requeued job writes to the same output file: appended, the first run's output (the warning) stays.
  if (opts.requeue) directives.push('--requeue', '--open-mode=append');
  if (opts.signalBeforeS !== undefined) directives.push(`--signal=${WARNING_SIGNAL.slice(3)}@${opts.signalBeforeS}`);
  directives.push(...opts.sbatchArgs);
  const env = { ...opts.env, ...preemptionEnv(opts) };

  const srun = ['srun', '--ntasks-per-node=1', '--kill-on-bad-exit=1'];
  // Since Slurm 22.05, srun no longer inherits --cpus-per-task from the job: repeat it.
  if (opts.cpusPerNode !== undefined) srun.push(`--cpus-per-task=${opts.cpusPerNode}`);
  srun.push(opts.nodePath, opts.ddprunPath, ...opts.ddprunArgs);

  return [
    '#!/bin/bash',
    "# Written by ddprun: one ddprun per node (srun --ntasks-per-node=1), each starting its node's ranks.",
    ...directives.map((arg) => `#SBATCH ${sbatchQuote(arg)}`),
    'set -euo pipefail',
    ...Object.entries(env).map(([name, value]) => `export ${name}=${shellQuote(value)}`),
    ...(opts.pathAppend.length > 0 ? [`export PATH="\${PATH:+$PATH:}${opts.pathAppend.join(':')}"`] : []),
    shellJoin(srun),
    '',
  ].join('\n');
}

/** The signal `--signal-before` asks Slurm for: SIGUSR1, PyTorch Lightning's choice too (SIGUSR2 is `ddprun stacks`'). */
export const WARNING_SIGNAL = 'SIGUSR1';

/** What tells each node's ddprun that the warning signal is a preemption, and that it should requeue the job. */
function preemptionEnv(opts: FilledSbatchOptions): Record<string, string> {
  return {
    ...(opts.signalBeforeS !== undefined && { DDPRUN_PREEMPT_SIGNAL: WARNING_SIGNAL }),
    ...(opts.requeue && { DDPRUN_REQUEUE: '1' }),
  };
}

/** `env`: shell variable names, string values. */
function checkEnv(env: Readonly<Record<string, unknown>>): void {
  for (const [name, value] of Object.entries(env)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      throw new UsageError(
        `Expected every \`env\` name to be a shell variable name, got ${describeValue(name)}.`,
        'env',
      );
    }
    if (typeof value !== 'string')
      throw new UsageError(`Expected \`env.${name}\` to be a string, got ${describeValue(value)}.`, 'env');
  }
}

/** `sbatchArgs`: one sbatch option per item. */
function checkSbatchArgs(sbatchArgs: unknown): void {
  if (!Array.isArray(sbatchArgs))
    throw new UsageError(
      `Expected \`sbatchArgs\` to be an array of strings, got ${describeValue(sbatchArgs)}.`,
      'sbatchArgs',
    );
  for (const arg of sbatchArgs) {
    if (typeof arg !== 'string' || !arg.startsWith('-')) {
      throw new UsageError(
        `Expected every \`sbatchArgs\` item to be one sbatch option such as "--qos=high", got ${describeValue(arg)}.`,
        'sbatchArgs',
      );
    }
  }
}

/**
 * `pathAppend`: written inside double quotes, so only plain absolute paths, without `:` or anything the shell expands.
 */
function checkPathAppend(pathAppend: unknown): void {
  if (
    !Array.isArray(pathAppend) ||
    pathAppend.some((dir) => typeof dir !== 'string' || !/^\/[A-Za-z0-9_@%+=,./-]*$/.test(dir))
  ) {
    throw new UsageError(
      `Expected \`pathAppend\` to be an array of plain absolute directories, got ${describeValue(pathAppend)}.`,
      'pathAppend',
    );
  }
}

/** Every default and check of renderSbatchScript, in one place. */
function normalizeSbatchOptions(options: SbatchOptions): FilledSbatchOptions {
  if (typeof options !== 'object' || options === null) {
    throw new UsageError(`Expected the sbatch options to be an object, got ${describeValue(options)}.`);
  }
  const env = options.env ?? {};
  checkEnv(env);
  const sbatchArgs = options.sbatchArgs ?? [];
  checkSbatchArgs(sbatchArgs);
  if (!Array.isArray(options.ddprunArgs) || options.ddprunArgs.some((arg) => typeof arg !== 'string')) {
    throw new UsageError(
      `Expected \`ddprunArgs\` to be an array of strings, got ${describeValue(options.ddprunArgs)}.`,
      'ddprunArgs',
    );
  }
  const pathAppend = options.pathAppend ?? [];
  checkPathAppend(pathAppend);
  if (options.ddprunArgs.length === 0)
    throw new UsageError('Expected `ddprunArgs` to name at least the script to run, got `[]` (array).', 'ddprunArgs');
  return {
    nodes: positiveInt(options.nodes, 'nodes'),
    gpusPerNode: options.gpusPerNode === undefined ? undefined : positiveInt(options.gpusPerNode, 'gpusPerNode'),
    cpusPerNode: options.cpusPerNode === undefined ? undefined : positiveInt(options.cpusPerNode, 'cpusPerNode'),
    time: optionalText(options.time, 'time'),
    partition: optionalText(options.partition, 'partition'),
    jobName: optionalText(options.jobName, 'jobName') ?? 'ddprun',
    output: optionalText(options.output, 'output'),
    chdir: optionalText(options.chdir, 'chdir'),
    sbatchArgs: sbatchArgs.map((arg) => oneLine(arg, 'sbatchArgs')),
    signalBeforeS: signalBefore(options),
    requeue: options.requeue === true,
    env,
    pathAppend,
    nodePath: absolutePath(options.nodePath, 'nodePath'),
    ddprunPath: absolutePath(options.ddprunPath, 'ddprunPath'),
    ddprunArgs: options.ddprunArgs,
  };
}

/**
 * Quotes one `#SBATCH` argument for sbatch's own parser (not a shell): inside double quotes a
 * backslash escapes the next character and `#` does not start a comment. It cannot hold a newline.
 */
export function sbatchQuote(arg: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg;
  return `"${arg.replace(/[\\"]/g, '\\$&')}"`;
}

/** `signalBeforeS`: sbatch takes 0 to 65535 s; `requeue` without it warns 120 s before the limit. */
function signalBefore(options: SbatchOptions): number | undefined {
  const value = options.signalBeforeS ?? (options.requeue === true ? DEFAULT_SIGNAL_BEFORE_S : undefined);
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1 || value > 65535)
    throw new UsageError(
      `Expected \`signalBeforeS\` to be a whole number of seconds from 1 to 65535, got ${describeValue(value)}.`,
      'signalBeforeS',
    );
  return value;
}

/** `--requeue` alone: the warning 2 minutes before the limit (torchrun's 30 s grace period, and time to requeue). */
export const DEFAULT_SIGNAL_BEFORE_S = 120;

function positiveInt(value: unknown, option: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new UsageError(`Expected \`${option}\` to be a positive integer, got ${describeValue(value)}.`, option);
  }
  return value;
}

function optionalText(value: unknown, option: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.trim() === '') {
    throw new UsageError(`Expected \`${option}\` to be a non-empty string, got ${describeValue(value)}.`, option);
  }
  return oneLine(value, option);
}

function oneLine(value: string, option: string): string {
  // An #SBATCH line ends at the newline; what follows would become a line of its own.
  if (/[\r\n\0]/.test(value)) {
    throw new UsageError(`Expected \`${option}\` to fit on one line, got ${describeValue(value)}.`, option);
  }
  return value;
}

function absolutePath(value: unknown, option: string): string {
  if (typeof value !== 'string' || !isAbsolute(value)) {
    throw new UsageError(
      `Expected \`${option}\` to be an absolute path (the same on every node), got ${describeValue(value)}.`,
      option,
    );
  }
  return value;
}
