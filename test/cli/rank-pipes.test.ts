// Each rank's stdout and stderr are real pipes (FIFOs made in the run's private folder), so a rank can write ahead of
// ddprun; where FIFOs cannot be made, Node's socket pairs serve and the launch is otherwise the same.
import { chmodSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, useSandboxes } from './helpers.js';

// What each rank's stdout and stderr are, as the kernel says (`fifo` or `socket`).
const KIND_OF_STREAMS = [
  '--no-python',
  'sh',
  '-c',
  'stat -L -c "out %F" /dev/stdout; stat -L -c "err %F" /dev/stderr >&2',
];

describe("the ranks' output streams", () => {
  const box = useSandboxes();

  it('are FIFOs, unlinked once open: the run leaves no FIFO behind', async () => {
    const s = box();
    const run = await runCli(['--nproc-per-node=2', ...KIND_OF_STREAMS], { env: s.env, cwd: s.dir });
    expect(run.code, run.stderr).toBe(0);
    for (const rank of [0, 1]) {
      expect(run.stdout).toContain(`[rank${rank}]:out fifo`);
      expect(run.stderr).toContain(`[rank${rank}]:err fifo`);
    }
    expect(readdirSync(path.join(s.dir, 'tmp'))).toEqual([]);
  });

  it('are socket pairs, with the output intact, when mkfifo fails', async () => {
    const s = box();
    const bin = path.join(s.dir, 'bin');
    mkdirSync(bin);
    writeFileSync(path.join(bin, 'mkfifo'), '#!/bin/sh\nexit 1\n');
    chmodSync(path.join(bin, 'mkfifo'), 0o755);
    const env = { ...s.env, PATH: `${bin}${path.delimiter}${s.env.PATH ?? ''}` };
    const run = await runCli(['--nproc-per-node=2', ...KIND_OF_STREAMS], { env, cwd: s.dir });
    expect(run.code, run.stderr).toBe(0);
    for (const rank of [0, 1]) {
      expect(run.stdout).toContain(`[rank${rank}]:out socket`);
      expect(run.stderr).toContain(`[rank${rank}]:err socket`);
    }
  });
});
