// Descriptors ddprun inherited without close-on-exec are closed in the ranks, as torchrun's workers (close_fds).
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CLI, ensureBuilt, useSandboxes } from '../cli/helpers.js';

describe('inherited descriptors', () => {
  const box = useSandboxes();
  beforeAll(() => ensureBuilt());

  it('does not pass an inherited descriptor (fd 200; Node itself marks low ones close-on-exec) to the ranks', async () => {
    const s = box();
    const file = openSync(path.join(s.dir, 'held'), 'w');
    try {
      const stdio: ('ignore' | 'pipe' | number)[] = ['ignore', 'pipe', 'pipe'];
      while (stdio.length < 200) stdio.push('ignore');
      stdio.push(file);
      const child = spawn(
        process.execPath,
        [CLI, '--nproc-per-node=2', '--no-python', 'sh', '-c', 'ls -l /proc/$$/fd'],
        { env: s.env, cwd: s.dir, stdio },
      );
      let stdout = '';
      child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      expect(code).toBe(0);
      // Each rank listed its shell's descriptors: stdout and stderr pipes, and never the file ddprun was given.
      expect(stdout.match(/-> \/dev\/null/g)).toHaveLength(2);
      expect(stdout).not.toContain(path.join(s.dir, 'held'));
    } finally {
      closeSync(file);
    }
  }, 60_000);
});
