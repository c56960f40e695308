import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TORCH_SKIP_REASON, torchPython } from './helpers/python.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BENCHMARKS = [1, 2, 3, 4, 5, 6, 7, 8];
const python = await torchPython();

/** The lines of section `## id.` up to the next `## ` heading. */
function section(text: string, id: number): string {
  const start = text.indexOf(`\n## ${id}. `);
  if (start === -1) return '';
  const next = text.indexOf('\n## ', start + 1);
  return text.slice(start, next === -1 ? undefined : next);
}

/** The rows of the first Markdown table whose header has min | median | max, as arrays of cells. */
function statsTable(text: string): string[][] {
  const lines = text.split('\n');
  const header = lines.findIndex((l) => l.startsWith('|') && l.includes('| min | median | max |'));
  if (header === -1) return [];
  const rows: string[][] = [];
  for (const line of lines.slice(header + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(
      line
        .split('|')
        .slice(1, -1)
        .map((c) => c.trim()),
    );
  }
  return rows;
}

const isMeasurement = (cell: string) => /^-?\d+(\.\d+)?$/.test(cell) || /^never( \(> [\d.]+\))?$/.test(cell);

describe.skipIf(!python)(`npm run bench (smoke mode)${python ? '' : `: ${TORCH_SKIP_REASON}`}`, () => {
  let dir: string;
  let report: string;
  let stderr: string;
  let benchPid: number | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'ddprun-bench-test-'));
    const out = path.join(dir, 'BENCHMARKS.md');
    stderr = await new Promise<string>((resolve, reject) => {
      const child = execFile(
        process.execPath,
        ['bench/run.mjs', '--smoke', '--out', out],
        { cwd: REPO, timeout: 170_000 },
        (error, _stdout, err) =>
          error ? reject(new Error(`bench/run.mjs --smoke failed: ${error.message}\n${err}`)) : resolve(err),
      );
      benchPid = child.pid;
    });
    report = await readFile(out, 'utf8');
  }, 180_000);

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('writes the machine, the commands and a summary with a result for every benchmark', () => {
    expect(stderr).toContain('bench: wrote');
    for (const heading of ['# Benchmarks', '## Machine', '## How it measures', '## Summary', '## Leftovers'])
      expect(report).toContain(`${heading}\n`);
    for (const fact of ['| CPU |', '| cores |', '| memory |', '| Node |', '| Python |', '| torch |', '| date |'])
      expect(report).toContain(fact);
    expect(report).toContain('**Mode: smoke**');
    const summary = report.slice(report.indexOf('## Summary'), report.indexOf('\n## 1. '));
    for (const id of BENCHMARKS)
      expect(summary).toMatch(new RegExp(`\\| ${id} \\| .* \\| \\*\\*(met|not met)\\*\\* \\|`));
  });

  it('has one section per benchmark with a table of runs whose cells are numbers or "never"', () => {
    for (const id of BENCHMARKS) {
      const text = section(report, id);
      expect(text, `section ${id}`).not.toBe('');
      expect(text).toMatch(/\*\*Goal .*: (met|not met)\.\*\*/);
      const rows = statsTable(text);
      expect(rows.length, `table of benchmark ${id}`).toBeGreaterThan(0);
      expect(rows.some((r) => r[0] === 'ddprun')).toBe(true);
      for (const [contender, , , runs, min, median, max] of rows) {
        expect(['ddprun', 'torchrun', 'floor', 'ddprun --no-record']).toContain(contender);
        expect(Number(runs)).toBeGreaterThan(0);
        for (const cell of [min, median, max])
          expect(isMeasurement(cell as string), `${contender} cell ${cell} in benchmark ${id}`).toBe(true);
      }
      for (const cell of rows.filter((r) => r[0] === 'ddprun').flatMap((r) => r.slice(4)))
        expect(Number.isFinite(Number(cell))).toBe(true);
    }
  });

  it('shows what recording costs in benchmarks 1 and 5 (ddprun against ddprun --no-record)', () => {
    for (const id of [1, 5]) {
      expect(statsTable(section(report, id)).some((r) => r[0] === 'ddprun --no-record')).toBe(true);
      expect(section(report, id)).toMatch(
        /Recording cost \(wall\): ddprun .* median \d+ ms vs `--no-record` \d+ ms: [\d.]+ ×/,
      );
    }
  });

  it('states ratios of medians against torchrun and the floor', () => {
    for (const id of [1, 2, 3, 4, 5, 6, 7, 8])
      expect(section(report, id)).toMatch(/ddprun : torchrun = (—|[\d.e-]+×), ddprun : floor = (—|[\d.e-]+×)/);
  });

  it('leaves no process of its runs behind', () => {
    // Every process a bench run starts carries BENCH_TAG=ddprun-bench-<bench pid>-<run>.
    const needle = `BENCH_TAG=ddprun-bench-${benchPid}-`;
    const tagged = readdirSync('/proc').filter((p) => {
      if (!/^\d+$/.test(p)) return false;
      try {
        return readFileSync(`/proc/${p}/environ`, 'latin1').includes(needle);
      } catch {
        return false;
      }
    });
    expect(tagged).toEqual([]);
  });
});
