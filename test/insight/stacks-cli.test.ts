import { describe, expect, it } from 'vitest';
import { listRuns, stateDir } from 'ddprun';
import { runCli, startCli, useSandboxes } from '../cli/helpers.js';
import { until } from '../helpers/procs.js';
import { torchPython } from '../helpers/python.js';
import { hangJob, hangLine } from './helpers.js';

const python = (await torchPython()) ?? undefined;
const box = useSandboxes();

describe.skipIf(!python)('ddprun stacks <id>', () => {
  it("prints each rank's stack of a live run started with --stack-dumps", async () => {
    const s = box();
    const live = startCli(['--stack-dumps', ...hangJob(python!)], { env: s.env });
    let out = '';
    live.child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
    try {
      await until('both ranks to be ready', () => (out.match(/ready/g) ?? []).length >= 2);
      const [run] = listRuns({ stateDir: stateDir(s.env) });
      expect(run?.status).toBe('running');
      const stacks = await runCli(['stacks', run!.id], { env: s.env });
      expect(stacks.code).toBe(0);
      expect(stacks.stdout).toMatch(
        new RegExp(
          `^ {2}rank 0 \\(pid \\d+\\) is in \`sleepy_step\` at hang\\.py:${hangLine('time.sleep(600)')}$`,
          'm',
        ),
      );
      expect(stacks.stdout).toMatch(/^ {2}rank 1 \(pid \d+\) is in `barrier` .*called from `wait_for_rank0`/m);
    } finally {
      live.child.kill('SIGTERM');
      await live.done;
    }
  });

  it("a run started without stack dumps: each live rank's kernel state, and how to get Python stacks; signals nothing (#24 item 10)", async () => {
    const s = box();
    const live = startCli(hangJob(python!), { env: s.env });
    let out = '';
    live.child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
    try {
      await until('both ranks to be ready', () => (out.match(/ready/g) ?? []).length >= 2);
      const [run] = listRuns({ stateDir: stateDir(s.env) });
      const stacks = await runCli(['stacks', run!.id], { env: s.env });
      expect(stacks.code).toBe(0);
      expect(stacks.stdout).toContain(`ddprun stacks ${run!.id}: what the kernel says of each rank\n`);
      // Rank 0 sleeps in time.sleep, rank 1 waits in gloo's barrier: both asleep in the kernel.
      for (const rank of [0, 1])
        expect(stacks.stdout).toMatch(
          new RegExp(`^ {2}rank ${rank} \\(pid \\d+\\): sleeping( in the kernel's \\w+)?, CPU time \\d+\\.\\d s$`, 'm'),
        );
      expect(stacks.stderr).toContain(
        `the run ${run!.id} was started without stack dumps, so its Python stacks cannot be taken; start a run with --stack-dumps`,
      );
      expect(listRuns({ stateDir: stateDir(s.env) })[0]?.status).toBe('running');
      expect(out).not.toContain('Current thread');
    } finally {
      live.child.kill('SIGTERM');
      await live.done;
    }
  });
});
