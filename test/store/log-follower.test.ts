import { mkdirSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CappedLog } from '../../src/store/capped-log.js';
import { rankLogFile, runDir } from '../../src/store/paths.js';
import { RankLogFollower, listRankLogs } from '../../src/store/rank-logs.js';
import { RunFeed } from '../../src/ui/run-feed.js';
import { RunFiles } from '../../src/ui/store-view.js';
import { tempDir } from '../helpers/procs.js';

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

const ID = '20261202-071700-e7e7';
/** A cap of 4 KiB: a 2 KiB head, then 1 KiB tail segments, the two newest kept. */
const CAP = 4096;
const line = (i: number) => `line ${String(i).padStart(5, '0')}\n`;

/** A store with one run whose rank 0 stdout goes through the store's CappedLog, as a recorder writes it. */
function cappedRun(): { state: string; log: CappedLog; folder: string } {
  const { dir: state, cleanup } = tempDir();
  cleanups.push(cleanup);
  const file = rankLogFile(runDir(state, ID), 0, 0, 'stdout');
  mkdirSync(path.dirname(file), { recursive: true });
  const log = new CappedLog(file, CAP, (error) => {
    throw error;
  });
  return { state, log, folder: path.dirname(file) };
}

/** Calls `look` until `done` says so (the log's appender flushes every 100 ms), failing after 10 s. */
async function until(look: () => Promise<void> | void, done: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    await look();
    if (done()) return;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The numbers of the `line NNNNN` lines in `text`, in order. */
const numbers = (lines: readonly string[]) =>
  lines.flatMap((l) => /^line (\d{5})$/.exec(l)?.[1] ?? []).map((n) => Number(n));

describe('following a rank log past the store cap', () => {
  it('RankLogFollower reads the head, then each tail segment as it is written, in order, while the log is open', async () => {
    const { state, log, folder } = cappedRun();
    const follower = new RankLogFollower();
    let text = '';
    const read = () => {
      const ref = listRankLogs(runDir(state, ID))[0];
      if (ref) text += follower.read(ref).toString('utf8');
    };
    for (let i = 0; i < 100; i++) log.write(line(i)); // 1,100 bytes: inside the head
    await until(read, () => text.includes(line(99)));
    for (let i = 100; i < 1000; i++) log.write(line(i)); // 11,000 bytes in all: the head is full, segments rotate
    await until(read, () => text.includes(line(999)));
    expect(readdirSync(folder).some((name) => /^stdout\.tail\.\d+\.log$/.test(name))).toBe(true);
    const seen = numbers(text.split('\n'));
    // What was seen is in order, the head's first line and the last line written included; the marker is there.
    expect(seen[0]).toBe(0);
    expect(seen.at(-1)).toBe(999);
    expect(seen.every((n, i) => i === 0 || n > seen[i - 1]!)).toBe(true);
    expect(text).toContain("passed the store's cap");
    await log.end();
  });

  it("the dashboard's live view of a run shows the lines written past the cap, not only stdout.log's", async () => {
    const { state, log } = cappedRun();
    const view = new RunFeed(new RunFiles(state), ID);
    const lines: string[] = [];
    const tick = () =>
      view.tick((event, data) => {
        if (event === 'log') lines.push(...(data as { lines: string[] }).lines);
      });
    for (let i = 0; i < 100; i++) log.write(line(i));
    await until(tick, () => lines.includes(line(99).trimEnd()));
    for (let i = 100; i < 1000; i++) log.write(line(i));
    await until(tick, () => lines.includes(line(999).trimEnd()));
    const seen = numbers(lines);
    expect(seen.slice(0, 100)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(seen.every((n, i) => i === 0 || n > seen[i - 1]!)).toBe(true);
    await log.end();
  });

  it("gives a client that comes later the newest lines up to where the run's feed has read, past the cap too", async () => {
    const { state, log, folder } = cappedRun();
    const feed = new RunFeed(new RunFiles(state), ID);
    const live: string[] = [];
    const tick = () =>
      feed.tick((event, data) => {
        if (event === 'log') live.push(...(data as { lines: string[] }).lines);
      });
    for (let i = 0; i < 1000; i++) log.write(line(i));
    log.write('line 01000 unfinished');
    await until(tick, () => live.includes(line(999).trimEnd()));
    const later: { event: string; data: unknown }[] = [];
    await feed.snapshot((event, data) => later.push({ event, data }));
    expect(later.map((f) => f.event)).toEqual(['run', 'log-start', 'log']);
    // Where the page pages older lines from: the head's end, as the newest lines are in a tail segment.
    const head = statSync(path.join(folder, 'stdout.log')).size;
    expect(later[1]!.data).toEqual({ attempt: 0, rank: 0, stream: 'stdout', start: head });
    const lines = (later[2]!.data as { lines: string[] }).lines;
    // Up to the last whole line: the unfinished one comes with the feed's next news, to every client at once.
    expect(lines.at(-1)).toBe(line(999).trimEnd());
    const seen = numbers(lines);
    expect(seen.every((n, i) => i === 0 || n === seen[i - 1]! + 1)).toBe(true);
    await log.end();
  });
});
