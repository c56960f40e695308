import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { listRuns } from '../../src/store/read.js';
import { stateDir } from '../../src/store/paths.js';
import { ensureBuilt, runCli, startCli, useSandboxes } from '../cli/helpers.js';
import { torchPython } from '../helpers/python.js';
import { fixture } from './helpers.js';

const python = (await torchPython()) ?? undefined;
const box = useSandboxes();
beforeAll(() => ensureBuilt());

const lineOf = (text: string) =>
  readFileSync(fixture('hang.py'), 'utf8')
    .split('\n')
    .findIndex((l) => l.includes(text)) + 1;

describe.skipIf(!python)('ddprun stacks <id>', () => {
  it("prints each rank's stack of a live run started with --stack-dumps", async () => {
    const s = box();
    const live = startCli(
      ['--stack-dumps', '--nproc-per-node', '2', '--python', python as string, fixture('hang.py')],
      {
        env: s.env,
      },
    );
    let out = '';
    live.child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
    try {
      while ((out.match(/ready/g) ?? []).length < 2) await new Promise((r) => setTimeout(r, 50));
      const [run] = listRuns({ stateDir: stateDir(s.env) });
      expect(run?.status).toBe('running');
      const stacks = await runCli(['stacks', run!.id], { env: s.env });
      expect(stacks.code).toBe(0);
      expect(stacks.stdout).toMatch(
        new RegExp(`^ {2}rank 0 \\(pid \\d+\\) is in \`sleepy_step\` at hang\\.py:${lineOf('time.sleep(600)')}$`, 'm'),
      );
      expect(stacks.stdout).toMatch(/^ {2}rank 1 \(pid \d+\) is in `barrier` .*called from `wait_for_rank0`/m);
    } finally {
      live.child.kill('SIGTERM');
      await live.done;
    }
  });

  it('refuses a run started without stack dumps, and signals nothing', async () => {
    const s = box();
    const live = startCli(['--nproc-per-node', '1', '--python', python as string, fixture('hang.py')], { env: s.env });
    try {
      let run;
      while (!(run = listRuns({ stateDir: stateDir(s.env) })[0])) await new Promise((r) => setTimeout(r, 50));
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
