import { closeSync, fstatSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import path from 'node:path';
import { LOGS_DIR } from './paths.js';

/** One rank stream of one attempt in a run's logs: its head file and, past the cap, its newest tail segments. */
export interface RankLogRef {
  attempt: number;
  /** -1: a torchrun agent's own output. */
  rank: number;
  stream: 'stdout' | 'stderr';
  /** `logs/attempt_<k>/<rank>/<stream>.log`, then its tail segments in order. */
  files: string[];
}

function numbered(names: string[], pattern: RegExp): [number, string][] {
  return names
    .map((name) => [pattern.exec(name), name] as const)
    .filter((m): m is [RegExpExecArray, string] => m[0] !== null)
    .map(([m, name]) => [Number(m[1]), name] as [number, string])
    .sort((a, b) => a[0] - b[0]);
}

function list(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Every rank stream a run has logged, by attempt, then rank (the agent first), then stdout before stderr. */
export function listRankLogs(runDir: string): RankLogRef[] {
  const refs: RankLogRef[] = [];
  const logs = path.join(runDir, LOGS_DIR);
  for (const [attempt, attemptName] of numbered(list(logs), /^attempt_(\d+)$/)) {
    const rankDirs = list(path.join(logs, attemptName))
      .map((name) => [name === 'agent' ? -1 : /^\d+$/.test(name) ? Number(name) : NaN, name] as const)
      .filter(([rank]) => !Number.isNaN(rank))
      .sort((a, b) => a[0] - b[0]);
    for (const [rank, rankName] of rankDirs) {
      const folder = path.join(logs, attemptName, rankName);
      const names = list(folder);
      for (const stream of ['stdout', 'stderr'] as const) {
        const head = `${stream}.log`;
        const tails = numbered(names, new RegExp(`^${stream}\\.tail\\.(\\d+)\\.log$`)).map(([, n]) => n);
        if (!names.includes(head) && tails.length === 0) continue;
        refs.push({ attempt, rank, stream, files: [head, ...tails].map((n) => path.join(folder, n)) });
      }
    }
  }
  return refs;
}

/** The whole text of a rank stream: the head (with its cap marker, if any) followed by the kept tail. */
export function readRankLog(ref: RankLogRef): string {
  return ref.files
    .map((file) => {
      try {
        return readFileSync(file, 'utf8');
      } catch {
        return ''; // a segment rotated away between listing and reading
      }
    })
    .join('');
}

/**
 * Reads what was appended to a growing file since `offset`, at most `maxBytes` of it; `size` is the offset after what
 * was read, `more` whether the file holds more beyond it. A missing file reads as empty.
 */
function readFrom(file: string, offset: number, maxBytes = Infinity): { text: Buffer; size: number; more: boolean } {
  let size: number;
  try {
    size = statSync(file).size;
  } catch {
    return { text: Buffer.alloc(0), size: offset, more: false };
  }
  if (size <= offset) return { text: Buffer.alloc(0), size: offset, more: false };
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return { text: Buffer.alloc(0), size: offset, more: false }; // rotated away since the stat
  }
  try {
    const buffer = Buffer.alloc(Math.min(size - offset, maxBytes));
    const n = readSync(fd, buffer, 0, buffer.length, offset);
    return { text: buffer.subarray(0, n), size: offset + n, more: offset + n < size };
  } finally {
    closeSync(fd);
  }
}

/**
 * Follows rank streams across their files: the head (`stdout.log`) and, once the store's cap is passed, the tail
 * segments as they appear (a segment rotated away is simply gone). Each `read` returns what a stream gained since the
 * last one, in order: `ddprun logs -f` and the dashboard both show output past the cap live through it.
 */
export class RankLogFollower {
  private readonly offsets = new Map<string, number>();

  /** Where reading `file` goes on from (by default its start). */
  startAt(file: string, offset: number): void {
    this.offsets.set(file, offset);
  }

  /** How far `file` has been read; undefined before its first read. */
  offsetOf(file: string): number | undefined {
    return this.offsets.get(file);
  }

  /**
   * The bytes the stream's files gained since the last call, head first. At most `maxBytes` of one file per call: a
   * file with more left ends the call there, so that what follows it is never read before it.
   */
  read(ref: RankLogRef, maxBytes = Infinity): Buffer {
    const parts: Buffer[] = [];
    for (const file of ref.files) {
      const { text, size, more } = readFrom(file, this.offsets.get(file) ?? 0, maxBytes);
      this.offsets.set(file, size);
      if (text.length > 0) parts.push(text);
      if (more) break;
    }
    return Buffer.concat(parts);
  }
}

/** Where a stream's last `lines` lines begin: the file (an index into `ref.files`) and the byte in it. */
export interface LogPosition {
  file: number;
  offset: number;
}

/**
 * Where the last `lines` lines of a rank stream begin, found by reading back from its end a chunk at a time (the
 * log is never read whole). An unterminated last line counts as a line; fewer lines than asked: the start.
 */
export function lastLinesPosition(ref: RankLogRef, lines: number, chunkBytes = 256 * 1024): LogPosition {
  const chunk = Buffer.allocUnsafe(chunkBytes);
  let wanted = lines;
  let last = true; // the stream's very last byte: a newline there ends the last line, it does not start one
  for (let file = ref.files.length - 1; file >= 0; file--) {
    let fd: number;
    try {
      fd = openSync(ref.files[file]!, 'r');
    } catch {
      continue; // rotated away
    }
    try {
      for (let end = fstatSync(fd).size; end > 0;) {
        const start = Math.max(0, end - chunk.length);
        const n = readSync(fd, chunk, 0, end - start, start);
        for (let i = n - 1; i >= 0; i--) {
          const newline = chunk[i] === NL;
          if (last) {
            last = false;
            if (newline) continue;
          }
          if (newline && --wanted === 0) return { file, offset: start + i + 1 };
        }
        end = start;
      }
    } finally {
      closeSync(fd);
    }
  }
  return { file: 0, offset: 0 };
}

const NL = 0x0a;
