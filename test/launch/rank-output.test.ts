import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { launch } from '../../src/launch/run/launch.js';
import { LINE_SPLIT_MARKER, LineSplitter, MAX_LINE_CHARS } from '../../src/launch/run/line-splitter.js';
import { torchPython } from '../helpers/python.js';
import { launchFixture, runLauncher, useCleanups } from '../helpers/launch.js';

const python = (await torchPython()) ?? undefined;
const fixture = launchFixture;
const { tempDir: dir } = useCleanups();

/** Runs the built library in a real parent process with `console: true`; its stdout and stderr, as bytes. */
const launcher = (options: object) => runLauncher(options, 120_000);

describe.skipIf(!python)('rank output, byte for byte', () => {
  it('writes log files byte-identical to what the rank wrote, invalid UTF-8 included; only the console decodes', async () => {
    const logDir = dir();
    const lines: string[] = [];
    const handle = launch({ entry: { script: fixture('raw_bytes.py') }, logDir, console: false });
    handle.on('line', (e) => e.stream === 'stdout' && lines.push(e.text));
    expect((await handle.result).exitCode).toBe(0);
    const written = Buffer.concat([
      Buffer.from([...Array(256).keys()]),
      Buffer.from('\n\xff\xfe caf\xc3\xa9 end\n', 'latin1'),
    ]);
    for (const stream of ['stdout', 'stderr'])
      expect(readFileSync(path.join(logDir, 'attempt_0', '0', `${stream}.log`)).equals(written)).toBe(true);
    // The console's text: invalid bytes shown as U+FFFD, the é split across two writes kept whole.
    expect(lines.at(-1)).toBe('\ufffd\ufffd café end');
  });

  it('refuses to write a rank log through a symbolic link planted in the log folder, leaving its target untouched', async () => {
    const logDir = dir();
    const victim = path.join(dir(), 'victim');
    writeFileSync(victim, 'precious\n');
    mkdirSync(path.join(logDir, 'attempt_0', '0'), { recursive: true });
    symlinkSync(victim, path.join(logDir, 'attempt_0', '0', 'stdout.log'));
    const started: number[] = [];
    const handle = launch({ entry: { script: fixture('chatty.py') }, env: { LINES: '5' }, logDir, console: false });
    handle.on('started', (e) => started.push(e.pid));
    await expect(handle.result).rejects.toThrow(
      `the log file ${path.join(logDir, 'attempt_0', '0', 'stdout.log')} already exists: rank logs go only into new files`,
    );
    expect(started).toEqual([]);
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
  });

  it('refuses a log folder that is a symbolic link to somewhere else', async () => {
    const logDir = dir();
    const elsewhere = dir();
    symlinkSync(elsewhere, path.join(logDir, 'attempt_0'));
    const handle = launch({ entry: { script: fixture('chatty.py') }, env: { LINES: '5' }, logDir, console: false });
    await expect(handle.result).rejects.toThrow(
      `cannot write rank logs under ${path.join(logDir, 'attempt_0')}: it is a symbolic link, not a folder (ELOOP)`,
    );
    expect(spawnSync('ls', ['-A', elsewhere], { encoding: 'utf8' }).stdout).toBe('');
  });
});

describe.skipIf(!python)('long and split lines', () => {
  it('splits a line longer than 1 MiB into 1 MiB pieces with a marker on the console, and keeps it whole in the log', () => {
    const logDir = dir();
    const chars = 2 * MAX_LINE_CHARS + 1000;
    const run = launcher({ entry: { script: fixture('long_line.py'), args: [String(chars)] }, logDir });
    expect(run.status, run.stderr).toBe(0);
    const shown = run.stdout.split('\n').filter((l) => l.startsWith('[rank0]:'));
    expect(shown.map((l) => l.length - '[rank0]:'.length)).toEqual([
      MAX_LINE_CHARS + LINE_SPLIT_MARKER.length,
      MAX_LINE_CHARS + LINE_SPLIT_MARKER.length,
      1000,
      'next line'.length,
    ]);
    expect(shown[0]!.endsWith(LINE_SPLIT_MARKER)).toBe(true);
    const log = readFileSync(path.join(logDir, 'attempt_0', '0', 'stdout.log'), 'utf8');
    expect(log.split('\n').map((l) => l.length)).toEqual([chars, 'next line'.length, 0]);
  });

  it('keeps a CRLF line whole when its \\r and \\n arrive in separate reads, on the console and in line events', async () => {
    const run = launcher({ entry: { script: fixture('crlf_split.py'), args: ['200'] } });
    expect(run.status, run.stderr).toBe(0);
    const expected = Array.from({ length: 200 }, (_, i) => `line ${i} `);
    expect(run.stdout.split('\n').filter((l) => l.startsWith('[rank0]:'))).toEqual(expected.map((l) => `[rank0]:${l}`));
    const lines: string[] = [];
    const handle = launch({ entry: { script: fixture('crlf_split.py'), args: ['200'] }, console: false });
    handle.on('line', (e) => lines.push(e.text));
    expect((await handle.result).exitCode).toBe(0);
    expect(lines).toEqual(expected);
  });
});

describe.skipIf(!python)('pipes of a rank that exited', () => {
  it('stay open while the other ranks run: a child the rank left keeps writing and finishes (no SIGPIPE)', () => {
    const work = dir();
    const run = launcher({ entry: { script: fixture('child_outlives.py'), args: [work] }, nprocPerNode: 2 });
    expect(run.status, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain('[rank0]:child of rank 0 finished');
    expect(run.stdout).toContain('[rank1]:rank 1 saw the child finish');
  });
});

describe('LineSplitter limits', () => {
  it('splits a line over MAX_LINE_CHARS without cutting a surrogate pair, and ends the last piece normally', () => {
    const out: string[] = [];
    const s = new LineSplitter((l) => out.push(l));
    const line = `${'a'.repeat(MAX_LINE_CHARS - 1)}😀${'b'.repeat(10)}`;
    for (let i = 0; i < line.length; i += 4096) s.push(line.slice(i, i + 4096));
    s.push('\n');
    expect(out).toEqual([`${'a'.repeat(MAX_LINE_CHARS - 1)}${LINE_SPLIT_MARKER}`, `😀${'b'.repeat(10)}`]);
  });

  it('treats a \\r that ends a chunk as CRLF when the next chunk starts with \\n, and as a rewrite otherwise', () => {
    const out: string[] = [];
    const s = new LineSplitter(
      (l) => out.push(l),
      () => 0,
    );
    for (const chunk of ['one \r', '\ntwo\r', 'TWO\n', 'three\r']) s.push(chunk);
    s.end();
    expect(out).toEqual(['one ', 'TWO', 'three']);
  });
});
