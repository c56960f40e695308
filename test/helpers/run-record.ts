import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { processIdentity } from '../../src/os/process-identity.js';
import type { RunRecord } from '../../src/store/types.js';

/** A finished run's record as a launcher writes it (the launcher: this test process), with `fields` over it. */
export function recordOf(id: string, fields: Partial<RunRecord> = {}): RunRecord {
  const me = processIdentity();
  return {
    schema: 1,
    id,
    argv: ['train.py'],
    source: 'cli',
    options: { gracePeriodMs: 1000 },
    cwd: '/',
    host: os.hostname(),
    user: 'me',
    version: '0.1.0',
    launcher: { pid: me.pid, startTime: me.start, bootId: me.boot },
    nprocPerNode: 2,
    worldSize: 2,
    maxRestarts: 0,
    attempt: 0,
    logDir: null,
    maxLogBytes: 1024 * 1024,
    startedAt: '2026-12-02T02:15:03.000Z',
    status: 'succeeded',
    endedAt: '2026-12-02T02:16:03.000Z',
    exitCode: 0,
    ...fields,
  };
}

/** Writes `<state>/runs/<id>/run.json` (any JSON value: a test may store a malformed record); returns the folder. */
export function writeRecord(state: string, id: string, value: unknown): string {
  const dir = path.join(state, 'runs', id);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(path.join(dir, 'run.json'), JSON.stringify(value));
  return dir;
}
