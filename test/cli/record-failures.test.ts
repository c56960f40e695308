import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, useSandboxes, type Sandbox } from './helpers.js';

const box = useSandboxes();

// Mounting needs root: CI runs as root, and a CI run that is not root must fail here, not skip.
const root = process.getuid?.() === 0;

/** Runs `body` with a tmpfs mounted on a fresh folder of the sandbox (unmounted afterwards, whatever happens). */
async function withTmpfs(s: Sandbox, options: string, body: (dir: string) => Promise<void>): Promise<void> {
  const dir = path.join(s.dir, 'mnt');
  mkdirSync(dir);
  execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir]);
  try {
    await body(dir);
  } finally {
    execFileSync('umount', [dir]);
  }
}

// 2 ranks × 4,000 lines of 17–19 bytes: about 150 KB of output, more than the 64 KiB disk below.
const SCRIPT = 'i=0; while [ $i -lt 4000 ]; do echo "line $i of rank $RANK"; i=$((i+1)); done';
const EXPECTED = [0, 1]
  .flatMap((rank) => Array.from({ length: 4000 }, (_, i) => `[rank${rank}]:line ${i} of rank ${rank}`))
  .sort();

async function launchInto(s: Sandbox, state: string) {
  const run = await runCli(['--nproc-per-node', '2', '--no-python', 'sh', '-c', SCRIPT], {
    env: { ...s.env, DDPRUN_STATE_DIR: state, OMP_NUM_THREADS: '1' },
  });
  expect(run.code).toBe(0);
  // Every line reached the console, as without a record.
  expect(run.stdout.trim().split('\n').sort()).toEqual(EXPECTED);
  const warnings = run.stderr.split('\n').filter((l) => l.includes('warning'));
  expect(run.stderr).toMatch(/ddprun succeeded in /);
  return warnings;
}

describe.runIf(root || process.env.CI)('a record that cannot be written never breaks a launch', () => {
  it('a disk that fills up during the run: one warning, and the launch goes on as before', async () => {
    const s = box();
    await withTmpfs(s, 'size=64k,mode=0700', async (dir) => {
      const warnings = await launchInto(s, dir);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(
        /^ddprun: warning: the record of run \d{8}-\d{6}-[0-9a-f]{4} is incomplete: cannot write \S+ \(ENOSPC: no space left on device.*\); the launch goes on\.$/,
      );
    });
  });

  it('a disk full from the start: one warning, no record, the launch as before', async () => {
    const s = box();
    await withTmpfs(s, 'size=64k,mode=0700', async (dir) => {
      try {
        writeFileSync(path.join(dir, 'filler'), Buffer.alloc(1024 * 1024));
      } catch (error) {
        expect((error as NodeJS.ErrnoException).code).toBe('ENOSPC');
      }
      const warnings = await launchInto(s, dir);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/^ddprun: warning: this run is not recorded \(ENOSPC: no space left on device/);
    });
  });

  it('a read-only state dir: one warning, the launch as before', async () => {
    const s = box();
    await withTmpfs(s, 'ro,size=64k', async (dir) => {
      const warnings = await launchInto(s, dir);
      expect(warnings).toEqual([
        expect.stringMatching(
          /^ddprun: warning: this run is not recorded \(EROFS: read-only file system, mkdir .*\); the launch goes on\. Set DDPRUN_STATE_DIR to a writable folder, or pass --no-record\.$/,
        ),
      ]);
    });
  });
});
