import { closeSync, openSync, readSync, statSync } from 'node:fs';
import type { RankStacks } from '../model/types.js';
import { describeWhere, parseFrames } from './frames.js';

/** How long a rank has to answer (faulthandler writes from its signal handler, even inside a blocking C call). */
const ANSWER_TIMEOUT_MS = 3000;
/** The dump is complete once the file has not grown for this long. */
const SETTLE_MS = 150;
const POLL_MS = 25;

export interface StackTarget {
  rank: number;
  localRank: number;
  pid: number;
  stackFile: string;
}

function sizeOf(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return -1;
  }
}

function readFrom(file: string, offset: number): string {
  const fd = openSync(file, 'r');
  try {
    const size = statSync(file).size;
    const buffer = Buffer.alloc(Math.max(size - offset, 0));
    let read = 0;
    while (read < buffer.length) {
      const n = readSync(fd, buffer, read, buffer.length - read, offset + read);
      if (n <= 0) break;
      read += n;
    }
    return buffer.toString('utf8', 0, read);
  } finally {
    closeSync(fd);
  }
}

/** The signal the rank's bootstrap registered, from its "ddprun-stacks-ready <pid> <signal>" line. */
function readySignal(file: string, pid: number): number | undefined {
  let text: string;
  try {
    text = readFrom(file, 0);
  } catch {
    return undefined;
  }
  const m = new RegExp(`^ddprun-stacks-ready ${pid} (\\d+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

/** The thread blocks of a dump; the main thread is the one whose outermost frame is a module. */
export function whereOf(stacks: string): string {
  const blocks = stacks.split(/\n(?=(?:Current thread|Thread) 0x)/);
  const main =
    blocks.find((b) => parseFrames(b).at(-1)?.func === '<module>') ??
    blocks.find((b) => b.startsWith('Current thread')) ??
    blocks[0] ??
    '';
  return describeWhere(parseFrames(main));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function dumpOne(target: StackTarget): Promise<RankStacks> {
  const base = { rank: target.rank, localRank: target.localRank, pid: target.pid };
  const signal = readySignal(target.stackFile, target.pid);
  if (signal === undefined)
    return {
      ...base,
      stacks: '',
      where: '',
      error: 'no stack-dump handler in this process (not Python, or it has not started yet)',
    };
  const before = sizeOf(target.stackFile);
  try {
    process.kill(target.pid, signal);
  } catch {
    return { ...base, stacks: '', where: '', error: 'the process is gone' };
  }
  const deadline = Date.now() + ANSWER_TIMEOUT_MS;
  let last = before;
  let stableSince = Date.now();
  while (Date.now() < deadline) {
    await sleep(POLL_MS);
    const size = sizeOf(target.stackFile);
    if (size !== last) {
      last = size;
      stableSince = Date.now();
    } else if (size > before && Date.now() - stableSince >= SETTLE_MS) break;
  }
  if (last <= before) return { ...base, stacks: '', where: '', error: `no answer within ${ANSWER_TIMEOUT_MS} ms` };
  const stacks = readFrom(target.stackFile, before).trimEnd();
  return { ...base, stacks, where: whereOf(stacks) };
}

/** Asks every rank for its Python stacks at once (faulthandler, all threads) and collects the answers. */
export function dumpStacks(targets: readonly StackTarget[]): Promise<RankStacks[]> {
  return Promise.all(targets.map(dumpOne));
}

/** The report a person reads: each rank, where its main thread is, then its full dump. */
export function formatStacks(ranks: readonly RankStacks[]): string {
  const lines: string[] = [];
  for (const r of ranks) {
    lines.push(
      r.error
        ? `  rank ${r.rank} (pid ${r.pid}): ${r.error}`
        : `  rank ${r.rank} (pid ${r.pid}) is in ${r.where || 'no Python frame'}`,
    );
    for (const line of r.stacks.split('\n')) if (line) lines.push(`    ${line}`);
  }
  return lines.join('\n');
}
