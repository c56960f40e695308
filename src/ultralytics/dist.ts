import { chmodSync, constants, existsSync, lstatSync, mkdirSync, realpathSync } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import path from 'node:path';
import { FileSystemError, UsageError, describeValue } from '../errors.js';
import { findFreeNetworkPort } from '../net/port.js';
import { findPython, probeTorch, versionAtLeast } from '../python/find-python.js';
import { ancestorsProblem, describeOwnerProblem, writableByOthers } from '../os/owned-path.js';
import { findUserConfigDir } from './config-dir.js';
import { entryFileContent, entryFileName, processOwner } from './entry-file.js';
import { checkSaveDir, removeSaveDir } from './save-dir.js';
import { checkTrainer, trainerId, type CheckedTrainer } from './trainer.js';
import type { DdpTrainer } from '../model/trainer.js';

export interface GenerateDdpFileOptions {
  /** The config directory whose `DDP/` subdirectory receives the file. @default getUserConfigDir() */
  configDir?: string;
}

export interface GenerateDdpCommandOptions extends GenerateDdpFileOptions {
  /** The interpreter that plays `sys.executable`. @default (await findPython()).python */
  python?: string;
}

function ddpDirError(dir: string, detail: string, cause?: unknown): FileSystemError {
  return new FileSystemError(
    `Cannot write the DDP entry file into ${JSON.stringify(dir)}: ${detail}. Set YOLO_CONFIG_DIR (or pass \`configDir\`) to a directory you own and can write.`,
    { path: dir, action: 'write the DDP entry file', cause },
  );
}

/**
 * Checks that no other user can replace what is below `dir`: it and each ancestor belong to us or root, and
 * none is writable by others unless sticky (as /tmp is: others can then neither rename nor remove our entries).
 */
function checkAncestors(dir: string, from: string): void {
  const problem = ancestorsProblem(from);
  if (problem) throw ddpDirError(dir, describeOwnerProblem(problem, 'the entry file'));
}

/**
 * Creates `<configDir>/DDP` (0o700) and makes sure that nobody else can change what runs: a real directory of
 * ours (a DDP folder of ours that others may write is made 0o700; a sticky one is fine, our file stays ours),
 * below folders that others cannot write.
 */
function ensureDdpDir(configDir: string): string {
  const wanted = path.join(configDir, 'DDP');
  let existing = configDir;
  while (!existsSync(existing) && path.dirname(existing) !== existing) existing = path.dirname(existing);
  checkAncestors(wanted, realpathSync(existing)); // before anything is created below it
  try {
    mkdirSync(wanted, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw ddpDirError(wanted, (error as Error).message, error);
  }
  const stats = lstatSync(wanted);
  if (!stats.isDirectory()) throw ddpDirError(wanted, 'it is not a directory');
  if (typeof process.getuid === 'function' && stats.uid !== process.getuid())
    throw ddpDirError(wanted, `it belongs to uid ${stats.uid}`);
  const dir = realpathSync(wanted);
  if (writableByOthers(stats)) chmodSync(dir, 0o700);
  checkAncestors(dir, path.dirname(dir));
  return dir;
}

/** Writes `content` to a new file (never an existing name or a link), then checks that the name still leads to it. */
async function writeNewFile(file: string, content: string): Promise<void> {
  const handle = await open(
    file,
    constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
    0o600,
  );
  try {
    await handle.writeFile(content, 'utf8');
    await handle.sync();
    const written = await handle.stat();
    const named = lstatSync(file);
    if (named.ino !== written.ino || named.dev !== written.dev || !named.isFile())
      throw new FileSystemError(`The entry file ${JSON.stringify(file)} was replaced while it was written.`, {
        path: file,
        action: 'write the DDP entry file',
      });
  } finally {
    await handle.close();
  }
}

async function writeEntryFile(checked: CheckedTrainer, id: number, configDir: string | undefined): Promise<string> {
  const dir = ensureDdpDir(configDir === undefined ? findUserConfigDir() : path.resolve(configDir));
  const content = entryFileContent(checked, processOwner());
  for (let attempt = 0; ; attempt++) {
    const file = path.join(dir, entryFileName(id));
    try {
      // O_EXCL | O_NOFOLLOW: never follow or reuse an existing name (as NamedTemporaryFile's O_EXCL).
      await writeNewFile(file, content);
      return file;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST' && attempt < 100) continue;
      if (code !== 'EEXIST') await rm(file, { force: true }).catch(() => undefined);
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
  // The given config dir is protected besides every default one (whose parent, ~/.config, must survive too).
  const configDirs = options.configDir === undefined ? [] : [path.resolve(options.configDir)];
  if (removeDir !== undefined) checkSaveDir(removeDir, { configDirs }); // refuse before any effect

  const found = await findPython(options.python === undefined ? {} : { python: options.python });
  const torch = await probeTorch(found.python);
  const atLeast = (major: number, minor: number) => versionAtLeast([torch.major, torch.minor], major, minor);
  const distCmd = atLeast(1, 9) ? 'torch.distributed.run' : 'torch.distributed.launch';
  const needsFix = distCmd === 'torch.distributed.run' && !atLeast(2, 0) && versionAtLeast(torch.pythonVersion, 3, 11);

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
