import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';
import { launcherCwd } from './cwd.js';

/** Whether `file` is a regular file this process may execute. */
export function isExecutableFile(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** Every executable named `name` on `envPath` (a PATH string), in order. */
export function allOnPath(name: string, envPath: string | undefined = process.env.PATH): string[] {
  return (envPath ?? '')
    .split(path.delimiter)
    .filter(Boolean)
    .map((dir) => path.join(dir, name))
    .filter(isExecutableFile);
}

/** The executable a shell would run for `command`: a path (relative to `cwd`) as is, a bare name from PATH. */
export function which(
  command: string,
  { cwd = launcherCwd() ?? '/', envPath = process.env.PATH }: { cwd?: string; envPath?: string } = {},
): string | undefined {
  if (command.includes('/')) {
    const file = path.resolve(cwd, command);
    return isExecutableFile(file) ? file : undefined;
  }
  return allOnPath(command, envPath)[0];
}
