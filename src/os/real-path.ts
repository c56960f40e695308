import { realpathSync } from 'node:fs';
import path from 'node:path';

/** `p` with every link resolved; a path that does not exist (yet) is compared as written, made absolute. */
export function realPathOrResolved(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return path.resolve(p);
  }
}
