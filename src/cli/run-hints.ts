import type { Entry, LaunchResult } from '../model/types.js';
import { flaggedOptions } from '../launch/option-table.js';
import { planResume } from '../launch/resume-run.js';
import type { StoreOptions } from '../store/types.js';

/**
 * What a failed or stopped foreground run prints last: its run id, where its summary is (`ddprun show`), and, when
 * `ddprun resume` would accept it, that command. Without it the id was only findable through `ddprun ps --all`.
 */
export function endHints(
  result: LaunchResult,
  runId: string | undefined,
  store: StoreOptions = {},
  entry?: Entry,
): string {
  if (result.exitCode === 0 || runId === undefined) return '';
  const misplaced = result.rootCause?.explanation?.kind === 'script-usage' ? misplacedFlags(entry) : [];
  const how = result.preempted
    ? `preempted by ${result.signal}`
    : result.signal
      ? `stopped by ${result.signal}`
      : `failed (exit code ${result.exitCode})`;
  let text = `ddprun: run ${runId} ${how}; its summary and logs: ddprun show ${runId}, ddprun logs ${runId}\n`;
  if (misplaced.length > 0)
    text += `ddprun: hint: ${misplaced.join(', ')} came after the script, so the script got ${misplaced.length > 1 ? 'them' : 'it'}, not ddprun: put ddprun's flags before the script (ddprun ${misplaced.join(' ')} … ${scriptOf(entry)} …)\n`;
  try {
    const plan = planResume(runId, {}, store);
    text += `ddprun: resume it from ${plan.from.checkpoint}: ddprun resume ${runId}\n`;
  } catch {
    // Not resumable (not a trainer run, no last.pt, its epochs done): the show hint is all.
  }
  return text;
}

/** `--nproc-per-node` and `--nproc_per_node` alike, without `=value`. */
const flagName = (token: string) => token.split('=')[0]!.replace(/_/g, '-');

/**
 * The script's arguments that are ddprun's launch flags (`--nproc-per-node`, `--nnodes`, …): after the script they
 * went to it (#24 item 14). The script's own flags of the same name would be named too; the hint says "came after".
 */
function misplacedFlags(entry: Entry | undefined): string[] {
  const args = entry && ('script' in entry || 'module' in entry || 'command' in entry) ? (entry.args ?? []) : [];
  const ours = new Set(flaggedOptions().map(({ flag }) => flagName(flag.spec.split(/[ =<[]/)[0]!)));
  return [...new Set(args.filter((a) => a.startsWith('--') && ours.has(flagName(a))).map(flagName))];
}

function scriptOf(entry: Entry | undefined): string {
  if (!entry) return 'script';
  if ('script' in entry) return entry.script;
  if ('module' in entry) return `-m ${entry.module}`;
  return 'command' in entry ? `--no-python ${entry.command}` : 'script';
}
