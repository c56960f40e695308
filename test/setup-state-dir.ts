import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';

// Every test file gets its own run store: no test ever writes into the real ~/.local/state/ddprun.
const dir = mkdtempSync(path.join(os.tmpdir(), 'ddprun-state-'));
process.env.DDPRUN_STATE_DIR = dir;
afterAll(() => rmSync(dir, { recursive: true, force: true }));
