import { statSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { LineSplitter } from '../../launch/run/logs.js';
import { rankPrefix } from '../../launch/run/supervisor.js';
import { RankLogFollower, lastLinesPosition, listRankLogs, type RankLogRef } from '../../store/rank-logs.js';
import { getRun } from '../../store/read.js';
import type { Io } from '../io.js';
import { forStream } from '../terminal-safe.js';
import { EXIT_ERROR, EXIT_OK, signalExitCode } from '../../exit-codes.js';

export interface LogsCommand {
  id: string;
  follow: boolean;
  rank: number | undefined;
  tail: number | undefined;
  json: boolean;
}

/** How often `logs -f` looks for new output. */
const FOLLOW_POLL_MS = 200;
/**
 * Bytes of a rank stream read at a time. The next read waits until the reader has taken what was written: `logs`
 * holds about this much whatever the log's size, and a slow reader slows it down instead of filling its memory.
 */
const READ_CHUNK_BYTES = 256 * 1024;

/**
 * Where the lines go: each rank line the way the console printed it (`[rank1]:text`; a torchrun agent's own lines
 * bare), or as JSON, gathered and written a chunk of the log at a time (one write, not one a line), then waited on
 * until stdout and stderr have taken it.
 */
class Output {
  private readonly pending = { stdout: [] as string[], stderr: [] as string[] };

  constructor(
    private readonly command: LogsCommand,
    private readonly io: Io,
  ) {}

  line(ref: RankLogRef, text: string): void {
    if (this.command.json) {
      this.pending.stdout.push(
        `${JSON.stringify({ attempt: ref.attempt, rank: ref.rank, stream: ref.stream, text })}\n`,
      );
      return;
    }
    this.pending[ref.stream].push(ref.rank < 0 ? `${text}\n` : `${rankPrefix(ref.rank, ref.rank)}${text}\n`);
  }

  /** Writes what was gathered; resolves once the streams have taken it. */
  async flush(): Promise<void> {
    for (const name of ['stdout', 'stderr'] as const) {
      const lines = this.pending[name];
      if (lines.length === 0) continue;
      // A rank's escape sequences reach a terminal inert (colours kept); a pipe or a file gets the bytes exact.
      this.io[name].write(forStream(this.io[name], lines.join('')));
      this.pending[name] = [];
    }
    await Promise.all([drained(this.io.stdout), drained(this.io.stderr)]);
  }
}

/** Resolves once `target` has taken what it was given (at once unless its buffer is full, or when it is closed). */
function drained(target: NodeJS.WriteStream): Promise<void> {
  if (!target.writableNeedDrain || target.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      for (const event of ['drain', 'close', 'error']) target.off(event, done);
      resolve();
    };
    for (const event of ['drain', 'close', 'error']) target.on(event, done);
  });
}

/** One rank stream read a chunk at a time, cut into the lines the console showed (`\r` updates collapsed). */
class StreamLines {
  private readonly decoder = new StringDecoder('utf8');
  private readonly splitter: LineSplitter;
  /** Where lines go: printed, or (for --tail) kept to print the last ones. */
  sink: (text: string) => void;

  constructor(
    public ref: RankLogRef,
    private readonly files: RankLogFollower,
    print: (ref: RankLogRef, text: string) => void,
  ) {
    this.sink = (text) => print(this.ref, text);
    this.splitter = new LineSplitter(
      (line) => this.sink(line),
      () => 0,
    );
  }

  /** Starts at the stream's last `lines` lines (what comes before is skipped unread). */
  startAtLastLines(lines: number): void {
    const at = lines === 0 ? { file: this.ref.files.length, offset: 0 } : lastLinesPosition(this.ref, lines);
    this.ref.files.forEach((file, i) => {
      if (i < at.file) this.files.startAt(file, sizeOf(file));
      if (i === at.file) this.files.startAt(file, at.offset);
    });
  }

  /** Reads and splits at most a chunk of what the stream gained; false when it had nothing new. */
  step(): boolean {
    const bytes = this.files.read(this.ref, READ_CHUNK_BYTES);
    if (bytes.length === 0) return false;
    this.splitter.push(this.decoder.write(bytes));
    return true;
  }

  /** Prints the unfinished last line (the stream has ended). */
  end(): void {
    this.splitter.push(this.decoder.end());
    this.splitter.end();
  }
}

function sizeOf(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

/**
 * Reads every rank stream (into its tail segments past the store's cap) a chunk at a time, waiting after each chunk
 * until stdout and stderr have taken it: memory stays bounded however large the logs and however slow the reader.
 */
class LogReader {
  private readonly files = new RankLogFollower();
  private readonly streams = new Map<string, StreamLines>();
  private readonly out: Output;
  private readonly print: (ref: RankLogRef, text: string) => void;

  constructor(
    private readonly dir: string,
    private readonly command: LogsCommand,
    io: Io,
  ) {
    this.out = new Output(command, io);
    this.print = (ref, text) => this.out.line(ref, text);
  }

  /** The streams there are now (a new attempt or tail segment shows up on the next call). */
  private current(): StreamLines[] {
    const refs = listRankLogs(this.dir).filter((r) => this.command.rank === undefined || r.rank === this.command.rank);
    return refs.map((ref) => {
      const key = `${ref.attempt}/${ref.rank}/${ref.stream}`;
      let stream = this.streams.get(key);
      if (stream) stream.ref = ref;
      else this.streams.set(key, (stream = new StreamLines(ref, this.files, this.print)));
      return stream;
    });
  }

  /** Prints what each stream holds now, stream after stream (the last `tail` lines of each with --tail). */
  async start(): Promise<void> {
    const tail = this.command.tail;
    for (const stream of this.current()) {
      if (tail === undefined) {
        while (stream.step()) await this.out.flush();
        continue;
      }
      stream.startAtLastLines(tail);
      const kept: string[] = [];
      const print = stream.sink;
      stream.sink = (text) => kept.push(text) > tail && kept.shift();
      while (stream.step());
      if (!this.command.follow) stream.end();
      stream.sink = print;
      for (const [i, line] of kept.slice(-tail).entries()) {
        print(line);
        if (i % 1000 === 999) await this.out.flush();
      }
      await this.out.flush();
    }
  }

  /** Prints what every stream gained since the last call, a chunk of each in turn, until none has more. */
  async poll(stop: () => boolean = () => false): Promise<void> {
    for (let more = true; more && !stop();) {
      more = false;
      for (const stream of this.current()) {
        if (stream.step()) more = true;
        await this.out.flush();
      }
    }
  }

  /** Prints the rest and each stream's unfinished last line (the run has ended). */
  async end(): Promise<void> {
    await this.poll();
    for (const stream of this.streams.values()) stream.end();
    await this.out.flush();
  }
}

/** `ddprun logs <id> [-f] [--rank N] [--tail N] [--json]`. */
export async function runLogs(command: LogsCommand, io: Io): Promise<number> {
  const run = getRun(command.id);
  const reader = new LogReader(run.dir, command, io);
  await reader.start();
  if (!command.follow) {
    if (command.tail === undefined) await reader.end();
    return EXIT_OK;
  }
  // Ctrl-C ends the following, never the run (which is another process, in its own session when detached).
  let interrupted = false;
  const onSigint = () => (interrupted = true);
  process.on('SIGINT', onSigint);
  try {
    for (;;) {
      const now = getRun(run.id);
      if (now.status !== 'running') {
        await reader.end();
        if (now.status === 'lost')
          io.stderr.write(`ddprun: run ${run.id} is lost: its launcher (pid ${now.launcher.pid}) is gone.\n`);
        return now.status === 'lost' ? EXIT_ERROR : (now.exitCode ?? EXIT_ERROR);
      }
      await reader.poll(() => interrupted);
      if (interrupted) return signalExitCode('SIGINT');
      await new Promise((resolve) => setTimeout(resolve, FOLLOW_POLL_MS));
      if (interrupted) return signalExitCode('SIGINT');
    }
  } finally {
    process.off('SIGINT', onSigint);
  }
}
