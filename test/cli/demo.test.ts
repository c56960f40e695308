import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, ensureBuilt, runCli, sandbox } from './helpers.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});
beforeAll(() => ensureBuilt());

describe('the demo (npm run demo)', () => {
  it('trains on 2 ranks, the loss goes down, and rank 0 saves a checkpoint', async () => {
    const s = sandbox();
    cleanups.push(s.cleanup);
    const run = await runCli(
      [
        '--nproc-per-node',
        '2',
        path.join(ROOT, 'examples', 'train_ddp.py'),
        '--epochs',
        '5',
        '--out',
        path.join(s.out, 'demo'),
      ],
      { env: s.env, cwd: s.out },
    );
    expect(run.code).toBe(0);
    const losses = [...run.stdout.matchAll(/^\[rank0\]:epoch (\d+)\/5 loss (\d+\.\d+)$/gm)].map((m) => Number(m[2]));
    expect(losses).toHaveLength(5);
    expect(losses.at(-1)).toBeLessThan((losses[0] as number) / 2);
    expect(run.stdout).not.toMatch(/^\[rank1\]:epoch/m);
    expect(existsSync(path.join(s.out, 'demo', 'checkpoint.pt'))).toBe(true);
  });
});
