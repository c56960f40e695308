import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, statfsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { listRuns } from '../../src/store/read.js';
import { RESERVE_FILE } from '../../src/store/reserve.js';
import { runCli, useSandboxes } from '../cli/helpers.js';

// Issue #22 item 6: a state disk that fills up during a run must not leave the run `lost` (its final run.json is the
// write that says how it ended). The state dir is a real 1 MiB tmpfs (mounting one needs root).

const box = useSandboxes();
const isRoot = process.getuid?.() === 0;
if (!isRoot && process.env.CI) throw new Error('CI: this test needs root (to mount a tmpfs as the state dir)');

describe.skipIf(!isRoot)('a full state disk', () => {
  it('a run that succeeded while its state disk filled up is recorded as succeeded, never lost', async () => {
    const s = box();
    const state = path.join(s.dir, 'state-fs');
    mkdirSync(state);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=0700', 'tmpfs', state]);
    try {
      // The run itself fills the disk to the last byte, then ends well.
      const fill = path.join(s.dir, 'fill.sh');
      writeFileSync(fill, `dd if=/dev/zero of='${state}/filler' bs=4096 2>/dev/null\necho filled\n`);
      const run = await runCli(['--nproc-per-node', '1', '--no-python', 'sh', fill], {
        env: { ...s.env, DDPRUN_STATE_DIR: state },
      });
      expect(run.code, run.stderr).toBe(0);
      const [record] = listRuns({ stateDir: state, all: true });
      expect(record?.status, run.stderr).toBe('succeeded');
      expect(record?.exitCode).toBe(0);
      expect(existsSync(path.join(record!.dir, RESERVE_FILE))).toBe(false);
      // The disk was full: the reserve gave the final record its room.
      const fs = statfsSync(state);
      expect(fs.bavail * fs.bsize).toBeLessThan(300 * 1024);
      const show = await runCli(['show', record!.id], { env: { ...s.env, DDPRUN_STATE_DIR: state } });
      expect(show.stdout).toContain('succeeded');
      expect(show.stdout).not.toContain('lost');
    } finally {
      execFileSync('umount', [state]);
    }
  });
});
