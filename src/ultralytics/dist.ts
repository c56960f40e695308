import { lstatSync, mkdirSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DdprunError, UsageError, describeValue } from '../errors.js';
import { findFreeNetworkPort } from '../launch/resolve/port.js';
import { findPython, probeTorch } from '../python/find-python.js';
import { configDirCandidates, getUserConfigDir } from './config-dir.js';
import { entryFileContent, entryFileName, processOwner } from './entry-file.js';
import { checkSaveDir, removeSaveDir } from './save-dir.js';
import { checkTrainer, trainerId, type CheckedTrainer } from './trainer.js';
import type { DdpTrainer } from './types.js';

export interface GenerateDdpFileOptions {
  /** The config directory whose `DDP/` subdirectory receives the file. @default getUserConfigDir() */
  configDir?: string;
}

export interface GenerateDdpCommandOptions extends GenerateDdpFileOptions {
  /** The interpreter that plays `sys.executable`. @default (await findPython()).python */
  python?: string;
}

function ddpDirError(dir: string, detail: string, cause?: unknown): DdprunError {
  return new DdprunError(
    `Cannot write the DDP entry file into ${JSON.stringify(dir)}: ${detail}. Set YOLO_CONFIG_DIR (or pass \`configDir\`) to a directory you own and can write.`,
    { cause },
  );
}

/** Creates `<configDir>/DDP` (0o700) and makes sure it is a real directory of ours, not a planted link. */
function ensureDdpDir(configDir: string): string {
  const dir = path.join(configDir, 'DDP');
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw ddpDirError(dir, (error as Error).message, error);
  }
  const stats = lstatSync(dir);
  if (!stats.isDirectory()) throw ddpDirError(dir, 'it is not a directory');
  if (typeof process.getuid === 'function' && stats.uid !== process.getuid())
    throw ddpDirError(dir, `it belongs to uid ${stats.uid}`);
  return dir;
}

async function writeEntryFile(checked: CheckedTrainer, id: number, configDir: string | undefined): Promise<string> {
  const dir = ensureDdpDir(configDir === undefined ? getUserConfigDir() : path.resolve(configDir));
  const content = entryFileContent(checked, processOwner());
  for (let attempt = 0; ; attempt++) {
    const file = path.join(dir, entryFileName(id));
    try {
      // 'wx': never follow or reuse an existing name (as NamedTemporaryFile's O_EXCL).
      await writeFile(file, content, { encoding: 'utf8', mode: 0o600, flag: 'wx' });
      return file;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST' && attempt < 100) continue;
      await rm(file, { force: true }).catch(() => undefined);
      const hint = code === 'ENOSPC' ? 'the disk is full' : (error as Error).message;
      throw ddpDirError(dir, hint, error);
    }
  }
}

/**
 * Ultralytics' `generate_ddp_file`: writes the temporary entry script that each rank runs, owner-only, as
 * `<configDir>/DDP/_temp_<random><trainerId>.py`. Every trainer field is validated before anything is written.
 */
export async function generateDdpFile(trainer: DdpTrainer, options: GenerateDdpFileOptions = {}): Promise<string> {
  const checked = checkTrainer(trainer);
  return writeEntryFile(checked, trainerId(trainer), options.configDir);
}

/**
 * `generateDdpFile` for `trainer`, named with `owner`'s id, so that `ddpCleanup(owner, file)` removes it too: the entry
 * file of a resumed attempt, whose trainer is `owner` with other arguments.
 */
export async function generateDdpFileFor(
  owner: DdpTrainer,
  trainer: DdpTrainer,
  options: GenerateDdpFileOptions = {},
): Promise<string> {
  const checked = checkTrainer(trainer);
  return writeEntryFile(checked, trainerId(owner), options.configDir);
}

// torch < 2.0 on Python >= 3.11: `Std.from_str` iterates the IntFlag, which no longer yields NONE (0) or
// ALL (3), so torchrun's defaults `--redirects 0 --tee 0` become None and crash in `to_map`. A mapping
// that names only local rank 9 parses, and leaves ranks 0–8 exactly as the default does (no redirection,
// output straight to the console); a 10th rank on one node gets its stdout tee'd, still to the console.
const OLD_TORCH_PY311_FLAGS = ['--redirects', '9:1', '--tee', '9:1'];

/**
 * Ultralytics' `generate_ddp_command`: removes `trainer.saveDir` unless resuming (with guard rails), writes
 * the entry file, picks the launcher for the interpreter's torch and a free port. Returns `[argv, file]`;
 * the argv runs as is on this machine.
 */
export async function generateDdpCommand(
  worldSize: number,
  trainer: DdpTrainer,
  options: GenerateDdpCommandOptions = {},
): Promise<[string[], string]> {
  if (!Number.isSafeInteger(worldSize) || worldSize < 1) {
    throw new UsageError(
      `Expected \`worldSize\` to be a positive integer, got ${describeValue(worldSize)}`,
      'worldSize',
    );
  }
  if (options.python !== undefined && (typeof options.python !== 'string' || options.python === '')) {
    throw new UsageError(
      `Expected the \`python\` option to be a path to an interpreter, got ${describeValue(options.python)}`,
      'python',
    );
  }
  const checked = checkTrainer(trainer);
  const removeDir = !checked.resume && checked.saveDir !== undefined ? checked.saveDir : undefined;
  const configDirs = options.configDir === undefined ? configDirCandidates() : [path.resolve(options.configDir)];
  if (removeDir !== undefined) checkSaveDir(removeDir, { configDirs }); // refuse before any effect

  const found = await findPython(options.python === undefined ? {} : { python: options.python });
  const torch = await probeTorch(found.python);
  const atLeast = (major: number, minor: number) =>
    torch.major > major || (torch.major === major && torch.minor >= minor);
  const distCmd = atLeast(1, 9) ? 'torch.distributed.run' : 'torch.distributed.launch';
  const [pyMajor, pyMinor] = torch.pythonVersion;
  const needsFix =
    distCmd === 'torch.distributed.run' && !atLeast(2, 0) && (pyMajor > 3 || (pyMajor === 3 && pyMinor >= 11));

  if (removeDir !== undefined) await removeSaveDir(removeDir, { configDirs }); // checks again, right before removing
  const file = await writeEntryFile(checked, trainerId(trainer), options.configDir);
  let port: number;
  try {
    port = await findFreeNetworkPort();
  } catch (error) {
    await rm(file, { force: true });
    throw error;
  }
  const cmd = [found.python, '-m', distCmd, '--nproc_per_node', String(worldSize), '--master_port', String(port)];
  if (needsFix) cmd.push(...OLD_TORCH_PY311_FLAGS);
  cmd.push(file);
  return [cmd, file];
}

/** Ultralytics' `ddp_cleanup`: removes `file` only when its name carries this trainer's id. Safe to call twice. */
export async function ddpCleanup(trainer: DdpTrainer, file: string): Promise<void> {
  if (typeof file !== 'string')
    throw new UsageError(`Expected \`file\` to be a path, got ${describeValue(file)}`, 'file');
  if (file.includes(`${trainerId(trainer)}.py`)) await rm(file, { force: true });
}
