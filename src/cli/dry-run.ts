import type { LaunchPlan, ResolvedOptions } from '../model/types.js';
import { shellQuote } from '../slurm/shell-quote.js';
import { findFreeNetworkPort } from '../net/port.js';
import { planLaunch } from '../launch/plan/plan-launch.js';
import type { SlurmProvenance } from '../slurm/launch-defaults.js';

/** The plan of attempt 0, and whether its port is only an example (a free port is chosen again at launch). */
async function dryRunPlan(resolved: ResolvedOptions): Promise<{ plan: LaunchPlan; portChosenAtLaunch: boolean }> {
  const portChosenAtLaunch = resolved.masterPort === undefined;
  const port = resolved.masterPort ?? (await findFreeNetworkPort());
  return { plan: planLaunch(resolved, 0, port), portChosenAtLaunch };
}

/** What `--dry-run` prints: the plan of attempt 0 and what only the resolved options and the command line know. */
interface DryRun {
  plan: LaunchPlan;
  resolved: ResolvedOptions;
  portChosenAtLaunch: boolean;
  slurm: SlurmProvenance | undefined;
  notes: readonly string[];
}

/** `--dry-run`'s text (JSON with `json`): the plan of attempt 0, for a person or a program. */
export async function dryRunText(
  resolved: ResolvedOptions,
  json: boolean,
  slurm?: SlurmProvenance,
  notes: readonly string[] = [],
): Promise<string> {
  const { plan, portChosenAtLaunch } = await dryRunPlan(resolved);
  const run: DryRun = { plan, resolved, portChosenAtLaunch, slurm, notes };
  return json ? planJson(run) : formatPlan(run);
}

/** `--dry-run` output for a person: per rank the argv, cwd, and the variables ddprun sets; then the files. */
function formatPlan({ plan, resolved, portChosenAtLaunch, slurm, notes }: DryRun): string {
  const lines: string[] = [];
  const port = `${plan.masterPort}${portChosenAtLaunch ? ' (a free port now; chosen again at launch)' : ''}`;
  lines.push(
    `ddprun --dry-run: ${plan.ranks.length} rank(s) on this node, world size ${plan.worldSize}, backend ${resolved.backend}`,
  );
  lines.push(`master: ${plan.masterAddr}:${port}`);
  if (resolved.python) lines.push(`python: ${resolved.python}`);
  if (slurm) lines.push(...formatSlurmProvenance(slurm));
  for (const note of notes) lines.push(note);
  for (const rank of plan.ranks) {
    lines.push(
      '',
      rank.rank < 0 ? 'torchrun agent (starts the ranks)' : `rank ${rank.rank} (local rank ${rank.localRank})`,
    );
    lines.push(`  argv: ${rank.argv.map(shellQuote).join(' ')}`);
    lines.push(`  cwd:  ${rank.cwd}`);
    lines.push('  env:');
    for (const [key, value] of Object.entries(rank.env).sort(([a], [b]) => a.localeCompare(b)))
      lines.push(`    ${key}=${shellQuote(value)}`);
  }
  lines.push('', plan.files.length ? 'files it would write:' : 'files it would write: none');
  for (const file of plan.files) lines.push(`  ${file}`);
  for (const warning of resolved.warnings) lines.push(`ddprun: warning: ${warning}`);
  lines.push('', 'Nothing was started, written or deleted.');
  return lines.join('\n');
}

/** `--dry-run --json` output: the plan itself, plus what only the resolved options know. */
function planJson({ plan, resolved, portChosenAtLaunch, slurm, notes }: DryRun): string {
  return JSON.stringify({
    ...plan,
    backend: resolved.backend,
    python: resolved.python ?? null,
    portChosenAtLaunch,
    warnings: resolved.warnings,
    notes,
    ...(slurm ? { slurm } : {}),
  });
}

/** `--dry-run` lines: each value and where it came from. */
export function formatSlurmProvenance(slurm: SlurmProvenance): string[] {
  const lines = [`slurm: job ${slurm.jobId}; values from the allocation unless given on the command line`];
  const shown = slurm.values.map((origin) => `${origin.flag} ${shellQuote(String(origin.value))}`);
  const width = Math.max(0, ...shown.map((text) => text.length));
  slurm.values.forEach((origin, i) => {
    let from = `from ${origin.source}`;
    if (origin.detail) from += ` (${origin.detail})`;
    if (origin.source === 'command line') {
      from = 'from the command line';
      if (origin.slurm) from += ` (Slurm: ${origin.slurm.value} from ${origin.slurm.source})`;
    }
    lines.push(`  ${(shown[i] as string).padEnd(width)}  ${from}`);
  });
  return lines;
}
