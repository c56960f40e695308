import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { UsageError, describeValue } from '../../errors.js';
import type { StdSelection } from '../../model/types.js';
import { resolveIn } from '../../os/cwd.js';
import { creatableDir } from './fs-checks.js';
import { fail, validateString } from './validators.js';

const SELECTIONS: readonly StdSelection[] = ['none', 'stdout', 'stderr', 'all'];
const QUOTED = SELECTIONS.map((s) => `'${s}'`).join(', ');

export interface Output {
  redirects: StdSelection[];
  tee: StdSelection[];
  localRanksFilter: Set<number>;
  logDir: string | undefined;
  warnings: string[];
}

/** `redirects`/`tee`: one selection for every rank, or a map from local rank to a selection. */
function resolveStdSpec(option: string, value: unknown, nproc: number): StdSelection[] {
  const out: StdSelection[] = Array.from({ length: nproc }, () => 'none');
  if (value === undefined) return out;
  if (typeof value === 'string') {
    if (!(SELECTIONS as readonly string[]).includes(value))
      fail(option, value, `one of ${QUOTED} or a map from local rank to one of them`);
    return out.fill(value as StdSelection);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    fail(option, value, `one of ${QUOTED} or a map from local rank to one of them`);
  for (const [key, sel] of Object.entries(value)) {
    const rank = Number(key);
    if (!/^\d+$/.test(key) || rank >= nproc)
      throw new UsageError(
        `\`${option}\` names local rank ${key}, but the local ranks of this node are 0 to ${nproc - 1} (\`nprocPerNode\` is ${nproc}).`,
        option,
      );
    if (!(SELECTIONS as readonly string[]).includes(sel as string))
      throw new UsageError(
        `\`${option}\` gives local rank ${key} ${describeValue(sel)}; expected one of ${QUOTED}.`,
        option,
      );
    out[rank] = sel as StdSelection;
  }
  return out;
}

function resolveLocalRanksFilter(value: unknown, nproc: number): Set<number> {
  if (value === undefined) return new Set(Array.from({ length: nproc }, (_, i) => i));
  if (!Array.isArray(value) || value.some((r) => !Number.isInteger(r) || (r as number) < 0 || (r as number) >= nproc))
    fail('localRanksFilter', value, `an array of local ranks from 0 to ${nproc - 1}`);
  return new Set(value as number[]);
}

/** Which streams go where: console filter, files only, files and console, and the log folder. */
export function resolveOutput(options: Record<string, unknown>, nproc: number, cwd: string, runId: string): Output {
  const localRanksFilter = resolveLocalRanksFilter(options.localRanksFilter, nproc);
  const redirects = resolveStdSpec('redirects', options.redirects, nproc);
  let tee = resolveStdSpec('tee', options.tee, nproc);
  // The rank on the terminal (`interactive`: the one rank shown) is not captured: it asks for no file.
  const onTerminal = options.interactive === true && localRanksFilter.size === 1 ? [...localRanksFilter][0] : -1;
  const wantsFiles = [...redirects, ...tee].some((s, i) => s !== 'none' && i % nproc !== onTerminal);
  let logDir: string | undefined;
  if (options.logDir !== undefined) {
    logDir = resolveIn(cwd, validateString('logDir', options.logDir, 'a directory path'), 'logDir');
    creatableDir('logDir', logDir);
    // The first attempt's per-rank folders: a file in the way is bad input, found before any rank starts.
    for (let localRank = 0; localRank < nproc; localRank++)
      creatableDir('logDir', path.join(logDir, 'attempt_0', String(localRank)));
  }
  // --log-dir alone keeps both streams in files and on the console; a redirect without a log dir goes to a temp dir, as
  // torchrun does.
  if (logDir && !wantsFiles) tee = tee.map(() => 'all');
  const warnings: string[] = [];
  if (!logDir && wantsFiles) {
    logDir = path.join(os.tmpdir(), `ddprun-logs-${runId}-${randomBytes(4).toString('hex')}`);
    warnings.push(`--redirects/--tee without --log-dir: the ranks' log files go to ${logDir} (kept after the run).`);
  }
  return { redirects, tee, localRanksFilter, logDir, warnings };
}

/** torchrun's `mkdtemp(prefix=f"{run_id}_", dir=log_dir)`: this run's own folder under `--log-dir`. */
export function perRunLogDir(logDir: string, runId: string | undefined): string {
  return path.join(logDir, `${runId ?? 'none'}_${randomBytes(4).toString('hex')}`);
}
