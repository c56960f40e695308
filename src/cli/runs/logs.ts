import { StringDecoder } from 'node:string_decoder';
import { LineSplitter } from '../../launch/run/logs.js';
import { rankPrefix } from '../../launch/run/supervisor.js';
import { RankLogFollower, listRankLogs, readRankLog, type RankLogRef } from '../../store/rank-logs.js';
import { getRun } from '../../store/read.js';
import type { Io } from '../io.js';
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

/** Prints one rank line the way the console does (`[rank1]:text`; a torchrun agent's own lines bare), or as JSON. */
function printer(command: LogsCommand, io: Io): (ref: RankLogRef, text: string) => void {
  return (ref, text) => {
    if (command.json) {
      io.stdout.write(`${JSON.stringify({ attempt: ref.attempt, rank: ref.rank, stream: ref.stream, text })}\n`);
      return;
    }
    const target = ref.stream === 'stdout' ? io.stdout : io.stderr;
    target.write(ref.rank < 0 ? `${text}\n` : `${rankPrefix(ref.rank, ref.rank)}${text}\n`);
  };
}

/** The lines of a rank stream as the console showed them (a progress bar's `\r` updates collapsed). */
function linesOf(text: string): string[] {
  const lines: string[] = [];
  const splitter = new LineSplitter(
    (line) => lines.push(line),
    () => 0,
  );
  splitter.push(text);
  splitter.end();
  return lines;
}

/**
 * Follows every rank stream (into its tail segments past the store's cap): new bytes since the last look, cut into
 * whole lines.
 */
class Follower {
  private readonly files = new RankLogFollower();
  private readonly streams = new Map<string, { decoder: StringDecoder; splitter: LineSplitter }>();

  constructor(
    private readonly dir: string,
    private readonly command: LogsCommand,
    private readonly print: (ref: RankLogRef, text: string) => void,
  ) {}

  /** Prints what is there now (the last `tail` lines of each stream with --tail), then remembers where it ended. */
  start(): void {
    for (const ref of this.refs()) {
      // Read once, to the offsets remembered: what arrives later is new.
      const stream = this.streamOf(ref);
      const text = stream.decoder.write(this.files.read(ref));
      const cut = text.lastIndexOf('\n') + 1;
      const lines = linesOf(text.slice(0, cut));
      const tail = this.command.tail;
      for (const line of tail === undefined ? lines : tail === 0 ? [] : lines.slice(-tail)) this.print(ref, line);
      // A line still being written is printed once it is whole.
      stream.splitter.push(text.slice(cut));
    }
  }

  private streamOf(ref: RankLogRef): { decoder: StringDecoder; splitter: LineSplitter } {
    const key = `${ref.attempt}/${ref.rank}/${ref.stream}`;
    let stream = this.streams.get(key);
    if (!stream) {
      const splitter = new LineSplitter(
        (line) => this.print(ref, line),
        () => 0,
      );
      this.streams.set(key, (stream = { decoder: new StringDecoder('utf8'), splitter }));
    }
    return stream;
  }

  private refs(): RankLogRef[] {
    return listRankLogs(this.dir).filter((ref) => this.command.rank === undefined || ref.rank === this.command.rank);
  }

  /** Prints what every stream gained since the last call. */
  poll(): void {
    for (const ref of this.refs()) {
      const bytes = this.files.read(ref);
      if (bytes.length === 0) continue;
      const stream = this.streamOf(ref);
      stream.splitter.push(stream.decoder.write(bytes));
    }
  }

  /** Prints the last unfinished lines (the run has ended). */
  end(): void {
    this.poll();
    for (const { splitter } of this.streams.values()) splitter.end();
  }
}

/** `ddprun logs <id> [-f] [--rank N] [--tail N] [--json]`. */
export async function runLogs(command: LogsCommand, io: Io): Promise<number> {
  const run = getRun(command.id);
  const print = printer(command, io);
  if (!command.follow) {
    for (const ref of listRankLogs(run.dir)) {
      if (command.rank !== undefined && ref.rank !== command.rank) continue;
      const lines = linesOf(readRankLog(ref));
      for (const line of command.tail === undefined ? lines : command.tail === 0 ? [] : lines.slice(-command.tail))
        print(ref, line);
    }
    return EXIT_OK;
  }
  const follower = new Follower(run.dir, command, print);
  follower.start();
  // Ctrl-C ends the following, never the run (which is another process, in its own session when detached).
  let interrupted = false;
  const onSigint = () => (interrupted = true);
  process.on('SIGINT', onSigint);
  try {
    for (;;) {
      const now = getRun(run.id);
      if (now.status !== 'running') {
        follower.end();
        if (now.status === 'lost')
          io.stderr.write(`ddprun: run ${run.id} is lost: its launcher (pid ${now.launcher.pid}) is gone.\n`);
        return now.status === 'lost' ? EXIT_ERROR : (now.exitCode ?? EXIT_ERROR);
      }
      follower.poll();
      if (interrupted) return signalExitCode('SIGINT');
      await new Promise((resolve) => setTimeout(resolve, FOLLOW_POLL_MS));
      if (interrupted) return signalExitCode('SIGINT');
    }
  } finally {
    process.off('SIGINT', onSigint);
  }
}
