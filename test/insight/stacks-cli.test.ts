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

  it('refuses a run started without stack dumps, and signals nothing', async () => {
    const s = box();
    const live = startCli(hangJob(python!, 1), { env: s.env });
    try {
      const run = await until('the run’s record', () => listRuns({ stateDir: stateDir(s.env) })[0]);
      const stacks = await runCli(['stacks', run.id], { env: s.env });
      expect(stacks.code).toBe(2);
      expect(stacks.stderr).toContain(`The run ${run.id} was started without stack dumps`);
      expect(listRuns({ stateDir: stateDir(s.env) })[0]?.status).toBe('running');
    } finally {
      live.child.kill('SIGTERM');
      await live.done;
    }
  });
});
