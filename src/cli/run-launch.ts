import type { LaunchOptions } from '../model/types.js';
import type { OutputFlags } from './args.js';
import type { Io } from './io.js';
import { probeConfigDir } from './config-dir.js';
import { EXIT_OK, exitCodeForResult } from '../exit-codes.js';
import { launchResolved, type LaunchContext } from '../launch/run/launch.js';
import { resolveOptions } from '../launch/resolve/options.js';
import { LaunchRenderer, loadStatusLine } from './render.js';
import type { SlurmProvenance } from '../slurm/launch-defaults.js';
import { silenceDeadTerminals } from './terminal.js';
import { endHints } from './run-hints.js';

/**
 * Plain output (no terminal, no JSON): the launcher writes the ranks' lines itself, batched per chunk and with
 * back-pressure, instead of one write per line here.
 */
function isPlain(output: OutputFlags, io: Io): boolean {
  return (
    !output.json &&
    !io.stdout.isTTY &&
    !(io.stderr.isTTY && !output.quiet) &&
    io.stdout === process.stdout &&
    io.stderr === process.stderr
  );
}

/** Validates, then either prints the plan (--dry-run) or launches and shows the run; returns the exit code. */
export async function runLaunch(
  options: LaunchOptions,
  output: OutputFlags,
  io: Io,
  slurm?: SlurmProvenance,
  context: Omit<LaunchContext, 'stateDir'> = {},
): Promise<number> {
  // Every check happens here, before anything is spawned, written or deleted.
  // getUserConfigDir() creates the config dir; a dry run names it without creating it.
  const configDir = output.dryRun && 'trainer' in options.entry ? probeConfigDir(io.env) : undefined;
  const resolved = await resolveOptions(configDir ? { ...options, configDir } : options);
  if (output.dryRun) {
    const { dryRunText } = await import('./dry-run.js');
    io.stdout.write(`${await dryRunText(resolved, output.json, slurm, output.notes)}\n`);
    return EXIT_OK;
  }
  // In plain mode the launcher prints the lines, the warnings and the root cause; otherwise the renderer does.
  const plain = isPlain(output, io);
  // An interactive rank owns the terminal: no status line is drawn over it.
  const createStatus = await loadStatusLine({
    quiet: output.quiet || resolved.interactive === true,
    stderr: io.stderr,
  });
  const renderer = new LaunchRenderer(resolved, {
    json: output.json,
    quiet: output.quiet,
    stdout: io.stdout,
    stderr: io.stderr,
    env: io.env,
    lines: !plain,
    createStatus,
  });
  // --ui: the dashboard lives as long as the run (`ddprun ui` shows it afterwards).
  const dashboard = output.ui ? await (await import('./ui.js')).startLaunchDashboard(io) : undefined;
  try {
    // Whoever writes the lines, the launch watches these streams: a full one pauses the ranks, a closed one stops them.
    // The command line as typed (or the resumed run's) and the run it resumes go into the run's record.
    const streams = { stdout: io.stdout, stderr: io.stderr };
    const handle = launchResolved({ ...resolved, console: plain }, streams, { ...context, sinks: [renderer] });
    const result = await handle.result;
    // A terminal that hung up gets nothing more; a stream redirected elsewhere still gets the summary.
    if (result.signal === 'SIGHUP') silenceDeadTerminals([io.stdout, io.stderr]);
    renderer.finish(result, { rootCause: !plain });
    if (!output.quiet) io.stderr.write(endHints(result, handle.runId, {}, resolved.entry));
    // Launched under another torchelastic launcher (TORCHELASTIC_ERROR_FILE set for ddprun itself): the root cause
    // goes there, as torchrun's @record'd main writes it.
    if (result.exitCode !== 0 && result.rootCause && io.env.TORCHELASTIC_ERROR_FILE) {
      const { writeAgentErrorFile } = await import('./torchrun-compat.js');
      writeAgentErrorFile(io.env.TORCHELASTIC_ERROR_FILE, result.rootCause, io.stderr);
    }
    // `ddprun slurm --requeue`: Slurm's warning requeues the job (node 0), or leaves it to node 0 (any other node).
    const requeued = result.preempted
      ? await (await import('./slurm-requeue.js')).requeueAfterPreemption(result, io.env, io.stderr)
      : undefined;
    return requeued ?? exitCodeForResult(result);
  } finally {
    await dashboard?.close();
  }
}
