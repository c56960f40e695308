import { StringDecoder } from 'node:string_decoder';
import { LineSplitter } from '../../launch/run/logs.js';
import { rankPrefix } from '../../launch/run/supervisor.js';
import { listRankLogs, readFrom, readRankLog, type RankLogRef } from '../../store/rank-logs.js';
import { getRun } from '../../store/read.js';
import type { Io } from '../run-launch.js';
import { signalExitCode } from '../exit.js';

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

/** Follows the files of every rank stream: new bytes since the last look, cut into whole lines. */
class Follower {
  private readonly offsets = new Map<string, number>();
  private readonly decoders = new Map<string, StringDecoder>();
  private readonly splitters = new Map<string, LineSplitter>();

  constructor(
    private readonly dir: string,
    private readonly command: LogsCommand,
    private readonly print: (ref: RankLogRef, text: string) => void,
  ) {}

  /** Prints what is there now (the last `tail` lines of each stream with --tail), then remembers where it ended. */
  start(): void {
    for (const ref of this.refs()) {
      // Read once, to the offsets remembered: what arrives later is new.
      const parts = ref.files.map((file) => {
        const { text, size } = readFrom(file, 0);
        this.offsets.set(file, size);
        return text;
      });
      const text = Buffer.concat(parts).toString('utf8');
      const cut = text.lastIndexOf('\n') + 1;
      const lines = linesOf(text.slice(0, cut));
      const tail = this.command.tail;
      for (const line of tail === undefined ? lines : tail === 0 ? [] : lines.slice(-tail)) this.print(ref, line);
      // A line still being written is printed once it is whole.
      this.splitterOf(ref).push(text.slice(cut));
    }
  }

  private splitterOf(ref: RankLogRef): LineSplitter {
    const key = `${ref.attempt}/${ref.rank}/${ref.stream}`;
    let splitter = this.splitters.get(key);
    if (!splitter)
      this.splitters.set(
        key,
        (splitter = new LineSplitter(
          (line) => this.print(ref, line),
          () => 0,
        )),
      );
    return splitter;
  }

  private refs(): RankLogRef[] {
    return listRankLogs(this.dir).filter((ref) => this.command.rank === undefined || ref.rank === this.command.rank);
  }

  /** Prints what every stream gained since the last call. */
  poll(): void {
    for (const ref of this.refs()) {
      const splitter = this.splitterOf(ref);
      for (const file of ref.files) {
        const { text, size } = readFrom(file, this.offsets.get(file) ?? 0);
        this.offsets.set(file, size);
        if (text.length === 0) continue;
        let decoder = this.decoders.get(file);
        if (!decoder) this.decoders.set(file, (decoder = new StringDecoder('utf8')));
        splitter.push(decoder.write(text));
      }
    }
  }

  /** Prints the last unfinished lines (the run has ended). */
  end(): void {
    this.poll();
    for (const splitter of this.splitters.values()) splitter.end();
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
    return 0;
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
        return now.status === 'lost' ? 1 : (now.exitCode ?? 1);
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
