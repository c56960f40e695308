import type { LaunchOptions } from '../launch/types.js';
import type { OutputFlags } from './args.js';
import { colorsFor } from './colors.js';
import { probeConfigDir } from './config-dir.js';
import { dryRunPlan, formatPlan, planJson } from './dry-run.js';
import { exitCodeForResult } from './exit.js';
import { launch } from '../launch/launch.js';
import { resolveOptions } from '../launch/options.js';
import { LaunchRenderer } from './render.js';

export interface Io {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  env: NodeJS.ProcessEnv;
}

/** Validates, then either prints the plan (--dry-run) or launches and shows the run; returns the exit code. */
export async function runLaunch(options: LaunchOptions, output: OutputFlags, io: Io): Promise<number> {
  // Every check happens here, before anything is spawned, written or deleted.
  // getUserConfigDir() creates the config dir; a dry run names it without creating it.
  const configDir = output.dryRun && 'trainer' in options.entry ? probeConfigDir(io.env) : undefined;
  const resolved = await resolveOptions(configDir ? { ...options, configDir } : options);
  if (output.dryRun) {
    const { plan, portChosenAtLaunch } = await dryRunPlan(resolved);
    io.stdout.write(`${output.json ? planJson(plan, resolved, portChosenAtLaunch) : formatPlan(plan, resolved, portChosenAtLaunch)}\n`);
    return 0;
  }
  const c = colorsFor(io.stderr, io.env);
  for (const warning of resolved.warnings) io.stderr.write(`${c.yellow('warning:')} ${warning}\n`);
  const renderer = new LaunchRenderer(resolved, { json: output.json, quiet: output.quiet, stdout: io.stdout, stderr: io.stderr, env: io.env });
  const handle = launch(options);
  renderer.attach(handle);
  const result = await handle.result;
  renderer.finish(result);
  return exitCodeForResult(result);
}
