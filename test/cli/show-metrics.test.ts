import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIXTURES, runCli, useSandboxes } from './helpers.js';
import { torchPython } from '../helpers/python.js';

const python = await torchPython();
const box = useSandboxes();

describe.skipIf(!python)('ddprun show: metrics', () => {
  it('prints the last and best value of each metric a script printed, and lists them in --json', async () => {
    const s = box();
    const launched = await runCli(['--nproc-per-node', '2', path.join(FIXTURES, 'metrics', 'log_metrics.py'), 'dict'], {
      env: s.env,
      cwd: s.out,
    });
    expect(launched.code).toBe(0);
    const ps = await runCli(['ps', '--json', '--all'], { env: s.env });
    const id = (JSON.parse(ps.stdout.trim().split('\n')[0]!) as { id: string }).id;
    const json = await runCli(['show', '--json', id], { env: s.env });
    expect(json.code).toBe(0);
    const shown = JSON.parse(json.stdout) as { metrics: Record<string, unknown>[] };
    expect(shown.metrics.find((m) => m.name === 'loss')).toEqual({
      name: 'loss',
      rank: 0,
      count: 4,
      last: { value: 0.375, epoch: 4 },
      goal: 'min',
      best: { value: 0.25, epoch: 3 },
    });
    expect(shown.metrics.find((m) => m.name === 'eval_accuracy')).toMatchObject({
      goal: 'max',
      best: { value: 0.75, epoch: 4 },
    });
    const text = await runCli(['show', id], { env: s.env });
    expect(text.stdout).toContain('\nmetrics\n');
    expect(text.stdout).toContain('\n  loss           last 0.375 (epoch 4)   best 0.25 (epoch 3)\n');
    expect(text.stdout).toContain('\n  learning_rate  last 0.00005 (epoch 4)\n');
  });
});
