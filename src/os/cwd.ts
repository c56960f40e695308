import { existsSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.js';

/**
 * Where the ranks run when the launcher's own directory was deleted: Linux's `/proc/self/cwd`, which a child
 * resolves (at its chdir) to the directory it inherited, deleted or not. torchrun runs a script given by absolute
 * path from a deleted directory; so do we.
 */
export const INHERITED_CWD = '/proc/self/cwd';

/** `process.cwd()`, or undefined when the directory was deleted (`ENOENT … uv_cwd`). */
export function launcherCwd(): string | undefined {
  try {
    return process.cwd();
  } catch {
    return undefined;
  }
}

/** The ranks' working directory when `cwd` is not given: the launcher's, deleted or not. */
export function defaultCwd(): string {
  const cwd = launcherCwd();
  if (cwd !== undefined) return cwd;
  if (existsSync(INHERITED_CWD)) return INHERITED_CWD;
  throw new UsageError(
    'The current directory no longer exists (it was deleted). Change to an existing directory, or pass `cwd`.',
    'cwd',
  );
}

/** `p` resolved against `cwd`; a relative `p` under a deleted current directory names nothing and is refused. */
export function resolveIn(cwd: string, p: string, option: string): string {
  if (path.isAbsolute(p)) return path.normalize(p);
  if (cwd === INHERITED_CWD)
    throw new UsageError(
      `The current directory no longer exists (it was deleted), so the relative path ${JSON.stringify(p)} of \`${option}\` names nothing. Pass an absolute path, or change to an existing directory.`,
      option,
    );
  return path.resolve(cwd, p);
}
