import {
  constants,
  createWriteStream,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  closeSync,
  type WriteStream,
} from 'node:fs';
import path from 'node:path';
import { FileSystemError, fsStep } from '../../errors.js';

const CREATE = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
const REOPEN = constants.O_WRONLY | constants.O_APPEND | constants.O_NOFOLLOW;

function logError(message: string, code: string, file: string): FileSystemError {
  const cause = Object.assign(new Error(message), { code });
  return new FileSystemError(`${message} (${code})`, { path: file, action: 'write rank logs', cause });
}

/**
 * A launch's rank log files. Each file is created new (`O_EXCL | O_NOFOLLOW`) in folders that are real folders, so
 * rank output never lands in a file that was there before or that a symbolic link points to; only a file this launch
 * created itself is opened again (the port-race retry appends to its attempt's files).
 */
export class LogFiles {
  /** Path → `dev:ino` of every file this launch created. */
  private readonly created = new Map<string, string>();

  /**
   * `root`: the folder the logs go under (created if missing; below it every folder is made or checked here). `warn`:
   * told once per file that cannot be written (the launch goes on).
   */
  constructor(
    private readonly root: string | undefined,
    private readonly warn: (message: string) => void = () => {},
  ) {}

  /** Opens `file` for appending, creating it and its folders. */
  open(file: string): WriteStream {
    const fd = fsStep('open the rank log file', file, () => {
      this.folders(path.dirname(file));
      return this.created.has(file) ? this.reopen(file) : this.create(file);
    });
    const stream = createWriteStream(file, { fd });
    // A full disk or a vanished folder loses that log, not the launch (an 'error' without a listener would crash it).
    let warned = false;
    stream.on('error', (error) => {
      if (!warned) this.warn(`cannot write ${file}: ${error.message}`);
      warned = true;
    });
    return stream;
  }

  /** Creates `dir` as open() would: every folder below the root made here or checked to be a real folder. */
  folders(dir: string): void {
    const root = this.root && !path.relative(this.root, dir).startsWith('..') ? this.root : path.dirname(dir);
    mkdirSync(root, { recursive: true });
    let current = root;
    for (const part of path.relative(root, dir).split(path.sep).filter(Boolean)) {
      current = path.join(current, part);
      try {
        mkdirSync(current);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        const stat = lstatSync(current);
        if (stat.isSymbolicLink())
          throw logError(
            `cannot write rank logs under ${current}: it is a symbolic link, not a folder`,
            'ELOOP',
            current,
          );
        if (!stat.isDirectory())
          throw logError(`cannot write rank logs under ${current}: it is a file, not a folder`, 'ENOTDIR', current);
      }
    }
  }

  private create(file: string): number {
    let fd: number;
    try {
      fd = openSync(file, CREATE, 0o666);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      throw logError(
        `the log file ${file} already exists: rank logs go only into new files (never appended to an existing file ` +
          `or through a symbolic link); give the launch a log folder this run's files are not in yet`,
        'EEXIST',
        file,
      );
    }
    const stat = fstatSync(fd);
    this.created.set(file, `${stat.dev}:${stat.ino}`);
    return fd;
  }

  private reopen(file: string): number {
    const fd = openSync(file, REOPEN);
    const stat = fstatSync(fd);
    if (this.created.get(file) === `${stat.dev}:${stat.ino}`) return fd;
    closeSync(fd);
    throw logError(`the log file ${file} was replaced while the launch ran; not writing to it`, 'EEXIST', file);
  }
}
