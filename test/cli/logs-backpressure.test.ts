import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { useSandboxes } from './helpers.js';
import { measuredCli } from '../helpers/measured-cli.js';
import { until } from '../helpers/procs.js';
import { recordOf, writeRecord } from '../helpers/run-record.js';

const box = useSandboxes();
const ID = '20261202-021503-aaaa';
/** 96 MiB of 100-byte lines: `ddprun logs` that holds the log whole needs over 3 times this (395 MB for 124 MB). */
const LINE = `${'x'.repeat(99)}\n`;
const LINES_PER_PART = 10_485;
const MIB_OF_LINES = Buffer.from(LINE.repeat(LINES_PER_PART));
const PARTS = 96;
/** A generous bound on the reader's peak RSS (it holds a chunk of the log, not the log). */
const MAX_RSS_MIB = 150;

/** A run (live: its launcher is this test process, or finished) whose rank 0 stdout log the test writes. */
function storeWithLog(state: string, status: 'running' | 'succeeded'): string {
  const fields = status === 'running' ? { status, endedAt: undefined, exitCode: undefined } : {};
  const dir = writeRecord(state, ID, recordOf(ID, fields));
  const logs = path.join(dir, 'logs', 'attempt_0', '0');
  mkdirSync(logs, { recursive: true, mode: 0o700 });
  writeFileSync(path.join(logs, 'stdout.log'), '');
  return path.join(logs, 'stdout.log');
}

function appendLines(log: string): void {
  for (let i = 0; i < PARTS; i++) appendFileSync(log, MIB_OF_LINES);
}

describe('ddprun logs streams a large log with back-pressure', () => {
  it('prints a 96 MiB log whole, in bounded memory', async () => {
    const s = box();
    appendLines(storeWithLog(s.state, 'succeeded'));
    const logs = await measuredCli(['logs', ID], { env: s.env, stdout: 'ignore' }).done;
    expect(logs.stderr).toBe('');
    expect(logs.code).toBe(0);
    expect(logs.maxRssMiB).toBeLessThan(MAX_RSS_MIB);
  });

  it('logs -f into a reader that stops reading while 96 MiB arrive: every line, in bounded memory', async () => {
    const s = box();
    const log = storeWithLog(s.state, 'running');
    const follow = measuredCli(['logs', '-f', ID], { env: s.env, collect: false });
    const stdout = follow.child.stdout!;
    let lines = 0;
    let first = '';
    stdout.setEncoding('utf8').on('data', (chunk: string) => {
      first ||= chunk.slice(0, 8 + LINE.length);
      for (let at = chunk.indexOf('\n'); at >= 0; at = chunk.indexOf('\n', at + 1)) lines++;
    });
    appendFileSync(log, MIB_OF_LINES);
    await until('logs -f to print the first lines', () => lines > 0);
    // The reader stops taking output (the pipe fills, ddprun blocks) while the rest of the log arrives.
    stdout.pause();
    for (let i = 1; i < PARTS; i++) appendFileSync(log, MIB_OF_LINES);
    stdout.resume();
    await until('every line to arrive', () => lines === PARTS * LINES_PER_PART, { timeoutMs: 120_000 });
    writeRecord(s.state, ID, recordOf(ID));
    const done = await follow.done;
    expect(first).toBe(`[rank0]:${LINE}`);
    expect(done.stderr).toBe('');
    expect(done.code).toBe(0);
    expect(lines).toBe(PARTS * LINES_PER_PART);
    expect(done.maxRssMiB).toBeLessThan(MAX_RSS_MIB);
  });
});
