import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../../errors.js';
import { which } from '../../os/which.js';
import { checkTrainer } from '../../ultralytics/trainer.js';
import type { DdpTrainer } from '../../model/trainer.js';
import type { Entry } from '../../model/types.js';
import { resolveIn } from '../../os/cwd.js';
import { fail, validateObject, validateString } from './validators.js';

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
const KINDS = ['script', 'module', 'command', 'trainer'] as const;

function readableFile(file: string): boolean {
  try {
    accessSync(file, constants.R_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** A script is a readable file, or a directory with `__main__.py` (which `python dir` and torchrun run). */
function checkScript(script: unknown, cwd: string): void {
  const name = validateString('entry.script', script, 'a path to a Python script');
  const file = resolveIn(cwd, name, 'entry.script');
  let isDir = false;
  try {
    isDir = statSync(file).isDirectory();
  } catch {
    /* reported below */
  }
  if (isDir) {
    if (readableFile(path.join(file, '__main__.py'))) return;
    throw new UsageError(
      `The script ${JSON.stringify(name)} is a directory without a readable \`__main__.py\` (looked for ${path.join(file, '__main__.py')}).`,
      'entry.script',
    );
  }
  if (!readableFile(file))
    throw new UsageError(
      `The script ${JSON.stringify(name)} does not exist or cannot be read (looked for ${file}).`,
      'entry.script',
    );
}

function checkCommand(command: unknown, cwd: string): void {
  const name = validateString('entry.command', command, 'an executable name or path');
  const found = name.includes('/') ? which(resolveIn(cwd, name, 'entry.command')) : which(name, { cwd });
  if (!found)
    throw new UsageError(
      `The command ${JSON.stringify(name)} is not an executable file${name.includes('/') ? '' : ' on PATH'}.`,
      'entry.command',
    );
}

/** Checks `entry`: exactly one kind, its arguments, and that what it names exists (nothing is run). */
export function checkEntry(entry: unknown, cwd: string): Entry {
  const e = validateObject('entry', entry, 'one of { script }, { module }, { command } or { trainer }');
  const kinds = KINDS.filter((k) => k in e);
  if (kinds.length !== 1) fail('entry', entry, 'exactly one of { script }, { module }, { command } or { trainer }');
  if (e.args !== undefined && (!Array.isArray(e.args) || e.args.some((a) => typeof a !== 'string' || a.includes('\0'))))
    fail('entry.args', e.args, 'an array of strings without NUL characters');
  if ('script' in e) checkScript(e.script, cwd);
  else if ('module' in e) {
    if (typeof e.module !== 'string' || !e.module.split('.').every((p) => IDENT.test(p)))
      fail('entry.module', e.module, 'a dotted Python module name such as `pkg.train`');
  } else if ('command' in e) checkCommand(e.command, cwd);
  else {
    const t = validateObject('entry.trainer', e.trainer, 'a DdpTrainer object');
    // Module, class and every argument (as a Python literal) are checked now, not when the entry file is written.
    checkTrainer(t as unknown as DdpTrainer);
  }
  return entry as Entry;
}
