import { lstatSync, type Stats } from 'node:fs';
import path from 'node:path';

// Who could change what lies below a folder: its owner, and anyone who may write it (the sticky bit, as on /tmp,
// keeps others from renaming or removing entries they do not own). The DDP folder and the run store are both checked
// this way before ddprun trusts, writes or runs anything below them.

/** Group- or world-writable. */
export const OTHERS_WRITE = 0o022;
export const STICKY = 0o1000;

/** This process's effective uid; undefined where there are no uids (Windows: nothing to check). */
export function myUid(): number | undefined {
  return typeof process.geteuid === 'function' ? process.geteuid() : undefined;
}

/** Why another user could replace what lies below a folder: `at` is theirs, or writable by them. */
export type OwnerProblem =
  | { at: string; kind: 'owner'; uid: number }
  | { at: string; kind: 'writable'; mode: number }
  | { at: string; kind: 'not-dir' };

/** Others may write `stats`'s folder: a group- or world-writable mode without the sticky bit. */
export function writableByOthers(stats: Pick<Stats, 'mode'>): boolean {
  return (stats.mode & OTHERS_WRITE) !== 0 && (stats.mode & STICKY) === 0;
}

/**
 * Checks `from` and each of its ancestors: each belongs to this user or root and none is writable by others unless
 * sticky. Undefined when nobody else can replace what lies below; else the first folder in the way. `from` must exist
 * (resolve links first: a link is judged as itself, not as what it leads to).
 */
export function ancestorsProblem(from: string): OwnerProblem | undefined {
  const uid = myUid();
  for (let at = path.resolve(from); ; at = path.dirname(at)) {
    const stats = lstatSync(at);
    if (uid !== undefined && stats.uid !== uid && stats.uid !== 0) return { at, kind: 'owner', uid: stats.uid };
    if (writableByOthers(stats)) return { at, kind: 'writable', mode: stats.mode & 0o7777 };
    if (path.dirname(at) === at) return undefined;
  }
}

/**
 * Why `dir` is not a private folder of this user (a real directory, not a link, that belongs to this user and that no
 * one else may write, sticky or not); undefined when it is one. Throws what lstat throws (ENOENT…).
 */
export function privateDirProblem(dir: string): OwnerProblem | undefined {
  const stats = lstatSync(dir);
  if (!stats.isDirectory()) return { at: dir, kind: 'not-dir' };
  const uid = myUid();
  if (uid !== undefined && stats.uid !== uid) return { at: dir, kind: 'owner', uid: stats.uid };
  if ((stats.mode & OTHERS_WRITE) !== 0) return { at: dir, kind: 'writable', mode: stats.mode & 0o7777 };
  return undefined;
}

/** `"<at>" belongs to uid 65534, who could replace <what>`, and so on. */
export function describeOwnerProblem(problem: OwnerProblem, what: string): string {
  const at = JSON.stringify(problem.at);
  switch (problem.kind) {
    case 'owner':
      return `${at} belongs to uid ${problem.uid}, who could replace ${what}`;
    case 'writable':
      return `${at} is writable by others (mode ${problem.mode.toString(8)})${problem.mode & STICKY ? '' : ' and not sticky'}, so another user could replace ${what}`;
    case 'not-dir':
      return `${at} is not a directory (or is a symbolic link)`;
  }
}
