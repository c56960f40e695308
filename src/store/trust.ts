import { chmodSync, lstatSync, mkdirSync, realpathSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UnsafePathError } from '../errors.js';
import {
  ancestorsProblem,
  describeOwnerProblem,
  myUid,
  OTHERS_WRITE,
  privateDirProblem,
  writableByOthers,
  type OwnerProblem,
} from '../os/owned-path.js';
import { identityState, readBootId } from '../os/process-identity.js';
import { DIR_MODE, runsDir } from './paths.js';
import type { LauncherIdentity } from './types.js';

// The run store is trusted only where no other user could have written it: a record names a pid that `stop` signals,
// and a python, trainer, env and cwd that `resume` runs. The state dir and its ancestors must belong to this user or
// root and be writable by no one else (unless sticky, as /tmp); `runs/` and each run folder must be this user's own
// and private. The writer makes its own folders private where others could write them, and refuses the rest.

const WHAT = 'its records';

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** The state dir, each folder above it (and above the link, where the state dir is one), and `runs/` when it exists. */
function storeChainProblem(state: string): OwnerProblem | undefined {
  let real: string;
  try {
    real = realpathSync(state);
  } catch (error) {
    if (isMissing(error)) return undefined; // nothing stored yet: nothing to trust
    throw error;
  }
  const linkParent = path.resolve(state) === real ? undefined : realpathSync(path.dirname(path.resolve(state)));
  const problem = (linkParent && ancestorsProblem(linkParent)) || ancestorsProblem(real);
  if (problem) return problem;
  try {
    return privateDirProblem(runsDir(real));
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
}

/** Why this user must not trust the run store at `state` (another user could have written it); undefined if it may. */
export function storeProblem(state: string): string | undefined {
  const problem = storeChainProblem(state);
  return problem && describeOwnerProblem(problem, WHAT);
}

/** Why this user must not trust the run folder `dir` of the store at `state`; undefined when it is theirs and private. */
export function runFolderProblem(state: string, dir: string): string | undefined {
  const problem = storeChainProblem(state) ?? privateDirProblem(dir);
  return problem && describeOwnerProblem(problem, 'its record');
}

/**
 * Throws an UnsafePathError, having done nothing, unless the run's folder is this user's own and private in a store no
 * other user could write: what `stop`, `stacks`, `resume` and the dashboard's Stop check before acting on a record.
 */
export function assertTrustedRun(run: { id: string; dir: string }, state: string, doing: string): void {
  let problem: string | undefined;
  try {
    problem = runFolderProblem(state, run.dir);
  } catch (error) {
    problem = `its folder cannot be checked (${(error as Error).message})`;
  }
  if (problem)
    throw new UnsafePathError(
      `Refusing to ${doing} the run ${run.id}: ${problem}. Nothing was done. A run store must belong to you and be writable by you alone (see docs/security.md).`,
      run.dir,
    );
}

function untrusted(state: string, problem: OwnerProblem): UnsafePathError {
  return new UnsafePathError(
    `the run store ${JSON.stringify(state)} is not safe: ${describeOwnerProblem(problem, WHAT)}`,
    problem.at,
  );
}

/**
 * A folder of the store that must be ours: made private when others may write it (the state dir may stay sticky, as
 * /tmp: no one else can rename or remove our runs/, which must be private); refused when it is not ours.
 */
function makePrivate(state: string, dir: string, isStateDir: boolean): void {
  const stats = lstatSync(dir);
  if (!stats.isDirectory()) throw untrusted(state, { at: dir, kind: 'not-dir' });
  const uid = myUid();
  if (uid === undefined || stats.uid === uid) {
    if (isStateDir ? writableByOthers(stats) : (stats.mode & OTHERS_WRITE) !== 0)
      chmodSync(dir, stats.mode & 0o777 & ~OTHERS_WRITE);
    return;
  }
  // A state dir such as /tmp itself: root's and sticky.
  if (isStateDir && stats.uid === 0 && !writableByOthers(stats)) return;
  throw untrusted(state, { at: dir, kind: 'owner', uid: stats.uid });
}

/**
 * Creates the store's folders for a writer (the recorder, a detached launcher's log), after checking that no other user
 * could change them: nothing is created below a folder of another user or one others may write; the state dir and
 * `runs/` are made private when they are ours and others may write them; anything else is refused (UnsafePathError).
 * Returns `runs/`.
 */
export function prepareStore(state: string): string {
  const wanted = path.resolve(state);
  let existing = wanted;
  while (!exists(existing) && path.dirname(existing) !== existing) existing = path.dirname(existing);
  const real = realpathSync(existing);
  const linkParent = existing === wanted && real !== wanted ? realpathSync(path.dirname(wanted)) : undefined;
  const above =
    (linkParent && ancestorsProblem(linkParent)) || ancestorsProblem(existing === wanted ? path.dirname(real) : real);
  if (above) throw untrusted(state, above);
  if (existing === wanted) makePrivate(state, real, true);
  // Not one recursive mkdir of runs/: that reports a read-only file system as ENOENT.
  else mkdirSync(wanted, { recursive: true, mode: DIR_MODE });
  const runs = runsDir(wanted);
  try {
    mkdirSync(runs, { mode: DIR_MODE });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  makePrivate(state, runs, false);
  return runs;
}

function exists(file: string): boolean {
  try {
    lstatSync(file);
    return true;
  } catch {
    return false;
  }
}

/**
 * Why the recorded launcher must not be signalled; undefined only when its pid is, provably, still that launcher: the
 * same host and boot, the recorded start time, alive, and this user's process. A record without a start time or boot
 * (no /proc when it was written, or a forged one) is never signalled: a pid alone may name any process.
 */
export function launcherProblem(launcher: LauncherIdentity, host: string): string | undefined {
  const { pid, startTime, bootId } = launcher;
  if (host !== os.hostname()) return `it runs on ${host}, not on this host (${os.hostname()})`;
  if (startTime === null || bootId === null)
    return `its record names no start time or boot for pid ${pid}, so ddprun cannot tell that pid ${pid} is still its launcher`;
  if (bootId !== readBootId()) return `its launcher (pid ${pid}) belongs to an earlier boot`;
  if (identityState({ pid, start: startTime, boot: bootId, host }) !== 'alive')
    return `its launcher (pid ${pid}) is gone`;
  const uid = myUid();
  let owner: number;
  try {
    owner = lstatSync(`/proc/${pid}`).uid;
  } catch {
    return `its launcher (pid ${pid}) is gone`;
  }
  if (uid !== undefined && owner !== uid) return `pid ${pid} belongs to uid ${owner}, not to you`;
  return undefined;
}
