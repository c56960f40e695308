import { existsSync, readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitForJob, submitSbatch, type JobEnd } from '../slurm/job.js';
import { renderSbatchScript } from '../slurm/sbatch.js';
import { SlurmWaitTimeoutError } from '../slurm/errors.js';
import type { OutputFlags, SlurmSubmit } from './args.js';
import { resolveOptions } from '../launch/resolve/options.js';
import { colorsFor } from './colors.js';
import { EXIT_ERROR, EXIT_OK, exitCodeForJob, signalExitCode } from '../exit-codes.js';
import { formatDuration } from './format.js';
import type { Io } from './io.js';
import { eventJson } from '../model/event-json.js';

/** This CLI's entry script: what each node's srun starts with `process.execPath`. */
const DDPRUN_MAIN = fileURLToPath(new URL('./main.js', import.meta.url));

/**
 * Appended to the job's PATH: ddprun looks for a Python with torch on PATH and then in these places
 * (/usr/bin/python3 …); a node's ranks must find the same interpreter whatever PATH sbatch inherited.
 */
const SYSTEM_DIRS = ['/usr/local/bin', '/usr/bin', '/bin'];

/** How often `--wait` looks at the job (scontrol show job; cheap for slurmctld). */
const WAIT_POLL_MS = 500;

export interface SlurmSubmitDeps {
  submit: typeof submitSbatch;
  wait: typeof waitForJob;
  cwd: string;
}

/** The batch script `ddprun slurm` submits. */
export function sbatchScriptFor(submit: SlurmSubmit, cwd: string): string {
  return renderSbatchScript({
    nodes: submit.nodes,
    gpusPerNode: submit.gpusPerNode,
    cpusPerNode: submit.cpusPerNode,
    time: submit.time,
    partition: submit.partition,
    jobName: submit.jobName,
    output: submit.outputPattern,
    // Explicit, so that the script runs where it was written whoever submits it, and its output file is where we say.
    chdir: cwd,
    sbatchArgs: submit.sbatchArgs,
    pathAppend: SYSTEM_DIRS,
    nodePath: process.execPath,
    ddprunPath: DDPRUN_MAIN,
    ddprunArgs: submit.ddprunArgs,
    signalBeforeS: submit.signalBeforeS,
    requeue: submit.requeue,
  });
}

/**
 * Where the job's output file will be: sbatch's `--output` pattern with the job id, name and user
 * filled in, relative to the job's directory. `undefined` when it cannot be told beforehand
 * (another `%` pattern such as `%N`, or an --sbatch-arg that moves the output or the directory).
 */
export function outputPath(submit: SlurmSubmit, jobId: string, cwd: string): string | undefined {
  if (submit.sbatchArgs.some((arg) => /^(--output|--chdir|-o|-D)/.test(arg))) return undefined;
  let unknown = false;
  const jobName = submit.jobName ?? 'ddprun';
  const filled = submit.outputPattern.replace(
    /%(%|(\d*)([A-Za-z]))/g,
    (whole, all: string, width: string, letter: string) => {
      if (all === '%') return '%';
      const value =
        letter === 'j' || letter === 'A' ? jobId : letter === 'x' ? jobName : letter === 'u' ? safeUser() : undefined;
      if (value === undefined) {
        unknown = true;
        return whole;
      }
      return value.padStart(Number(width || 0), '0');
    },
  );
  // A `\` anywhere turns sbatch's pattern expansion off.
  if (unknown || submit.outputPattern.includes('\\')) return undefined;
  return path.resolve(cwd, filled);
}

function safeUser(): string | undefined {
  try {
    return userInfo().username;
  } catch {
    return undefined;
  }
}

/**
 * Every launch option is checked before submitting, so that a typo fails now and not on the nodes after the queue. The
 * values Slurm gives each node stand in as a 2-node placeholder; the interpreter is the nodes' business.
 */
async function checkLaunchOptions(submit: SlurmSubmit, cwd: string): Promise<void> {
  const { launch } = submit;
  await resolveOptions(
    {
      ...launch,
      nnodes: launch.nnodes ?? submit.nodes,
      nodeRank: 0,
      masterAddr: launch.masterAddr ?? '127.0.0.1',
      masterPort: launch.masterPort ?? 29500,
      cwd,
    },
    { probe: false },
  );
}

/** What one `ddprun slurm` call prints to, and how. */
interface Out {
  io: Io;
  output: OutputFlags;
  c: ReturnType<typeof colorsFor>;
  event: (name: string, data: object) => void;
}

/** `--dry-run`: the script, and where its output would go; nothing submitted. */
function printDryRun(out: Out, submit: SlurmSubmit, script: string, cwd: string): number {
  const pattern = path.resolve(cwd, submit.outputPattern);
  if (out.output.json) out.event('sbatch-script', { script, output: pattern });
  else {
    out.io.stdout.write(script);
    out.io.stderr.write(
      `ddprun slurm --dry-run: the script above is what sbatch would get; its output would go to ${pattern}. Nothing was submitted.\n`,
    );
  }
  return EXIT_OK;
}

/**
 * `--wait`: follows the job to its end, or returns the exit code when waiting stopped first (a signal to this process,
 * which leaves the job running, or --wait-timeout).
 */
async function waitForEnd(
  out: Out,
  submit: SlurmSubmit,
  deps: SlurmSubmitDeps,
  jobId: string,
  where: string,
): Promise<JobEnd | number> {
  const { io, c } = out;
  if (!out.output.json && !out.output.quiet)
    io.stderr.write(`Waiting for job ${jobId} (Ctrl-C stops waiting; the job keeps running)…\n`);
  const abort = new AbortController();
  const stop = (signal: NodeJS.Signals) => abort.abort(signal);
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  for (const signal of signals) process.on(signal, stop);
  try {
    return await deps.wait(jobId, {
      timeoutMs: submit.waitTimeoutMs ?? Infinity,
      pollMs: WAIT_POLL_MS,
      env: io.env,
      signal: abort.signal,
    });
  } catch (error) {
    if (abort.signal.aborted) {
      const signal = abort.signal.reason as NodeJS.Signals;
      io.stderr.write(
        `ddprun: ${c.yellow('warning:')} stopped waiting (${signal}); Slurm job ${jobId} keeps running: \`scancel ${jobId}\` stops it. Output: ${where}\n`,
      );
      return signalExitCode(signal);
    }
    if (error instanceof SlurmWaitTimeoutError) {
      io.stderr.write(`${c.red('error:')} ${error.message} \`scancel ${jobId}\` stops it. Output: ${where}\n`);
      return EXIT_ERROR;
    }
    throw error;
  } finally {
    for (const signal of signals) process.off(signal, stop);
  }
}

/** The ended job: its output file, then how it ended; returns the exit code. */
function reportEnd(
  out: Out,
  end: JobEnd,
  jobId: string,
  file: string | undefined,
  where: string,
  started: number,
): number {
  const { io, output, c } = out;
  const code = exitCodeForJob(end);
  const durationMs = Date.now() - started;
  // The job's output (its ranks' lines) is the result: stdout, unless stdout carries the JSON events.
  const text = file !== undefined && existsSync(file) ? readFileSync(file, 'utf8') : undefined;
  if (text !== undefined)
    (output.json ? io.stderr : io.stdout).write(text.endsWith('\n') || text === '' ? text : `${text}\n`);
  if (output.json) out.event('job-end', { ...end, code, durationMs, output: file ?? null });
  else if (!output.quiet || !end.ok) {
    const how = end.signal ? `signal ${end.signal}` : `exit code ${end.exitCode}`;
    const paint = end.ok ? c.green : c.red;
    const missing = file !== undefined && text === undefined ? ` (no output file at ${file})` : '';
    io.stderr.write(
      `${paint(`Slurm job ${jobId} ${end.state}`)} with ${how} after ${formatDuration(durationMs)}; output: ${where}${missing}\n`,
    );
  }
  return code;
}

/** `ddprun slurm`: prints the script (--dry-run), or submits it and, with --wait, follows the job to its end. */
export async function runSlurmSubmit(
  submit: SlurmSubmit,
  output: OutputFlags,
  io: Io,
  deps: SlurmSubmitDeps = { submit: submitSbatch, wait: waitForJob, cwd: process.cwd() },
): Promise<number> {
  const started = Date.now();
  await checkLaunchOptions(submit, deps.cwd);
  const out: Out = {
    io,
    output,
    c: colorsFor(io.stderr, io.env),
    event: (name, data) => io.stdout.write(eventJson(name, data, Date.now())),
  };
  const script = sbatchScriptFor(submit, deps.cwd);
  if (output.dryRun) return printDryRun(out, submit, script, deps.cwd);

  const { jobId } = await deps.submit(script, { cwd: deps.cwd, env: io.env });
  const file = outputPath(submit, jobId, deps.cwd);
  const where = file ?? `${submit.outputPattern} (sbatch's pattern, in the job's directory)`;
  if (output.json) out.event('submitted', { jobId, output: file ?? null });
  else {
    io.stdout.write(`Submitted batch job ${jobId}\n`);
    io.stderr.write(`Output: ${where}\n`);
  }
  if (!submit.wait) return EXIT_OK;
  const end = await waitForEnd(out, submit, deps, jobId, where);
  return typeof end === 'number' ? end : reportEnd(out, end, jobId, file, where, started);
}
