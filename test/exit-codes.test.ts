import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  exitCodeForChecks,
  exitCodeForJob,
  exitCodeOfRootCause,
  processExitCode,
  signalExitCode,
} from '../src/exit-codes.js';
import type { RootCause } from '../src/model/types.js';
import type { JobEnd } from '../src/slurm/job.js';
import { ROOT } from './cli/helpers.js';

const cause = (fields: Partial<RootCause>): RootCause => ({ ...(fields as RootCause) });

describe('exit codes', () => {
  it('are 128 + N for signal N, by name or number, as a shell reports them', () => {
    expect([signalExitCode('SIGINT'), signalExitCode('SIGTERM'), signalExitCode('SIGKILL'), signalExitCode(1)]).toEqual(
      [130, 143, 137, 129],
    );
    expect([processExitCode(3, null), processExitCode(null, 'SIGKILL'), processExitCode(null, null)]).toEqual([
      3, 137, 1,
    ]);
  });

  it("are a failed rank's code, 128+N for its signal, and never 0 for a failure", () => {
    expect(exitCodeOfRootCause(cause({ exitCode: 3, signal: null }))).toBe(3);
    expect(exitCodeOfRootCause(cause({ exitCode: null, signal: 'SIGSEGV' }))).toBe(139);
    expect(exitCodeOfRootCause(cause({ exitCode: 0, signal: null }))).toBe(1);
    expect(exitCodeOfRootCause(cause({ exitCode: 300, signal: null }))).toBe(1);
  });

  it("are a Slurm job's script exit code, else 128+signal, else 1 when it did not complete", () => {
    const end: JobEnd = { jobId: '1', state: 'COMPLETED', exitCode: 0, signal: 0, ok: true };
    const job = (changes: Partial<JobEnd>) => exitCodeForJob({ ...end, ...changes });
    expect(job({})).toBe(0);
    expect(job({ state: 'FAILED', exitCode: 7, ok: false })).toBe(7);
    expect(job({ state: 'CANCELLED', signal: 9, ok: false })).toBe(137);
    expect(job({ state: 'TIMEOUT', ok: false })).toBe(1);
    expect([exitCodeForChecks(false), exitCodeForChecks(true)]).toEqual([0, 1]);
  });

  it('are computed nowhere else in src/ (no `128 +`, no literal exit code returned by a command)', () => {
    const offenders: string[] = [];
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const file = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(file);
        else if (file.endsWith('.ts') && file !== path.join(ROOT, 'src', 'exit-codes.ts')) {
          const text = readFileSync(file, 'utf8');
          if (/128 \+/.test(text)) offenders.push(path.relative(ROOT, file));
          if (file.includes(`${path.sep}cli${path.sep}`) && /^\s+return [0-9]+;$/m.test(text))
            offenders.push(path.relative(ROOT, file));
        }
      }
    };
    walk(path.join(ROOT, 'src'));
    expect(offenders).toEqual([]);
  });
});
