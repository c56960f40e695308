// --interactive's refusals: each a usage error (exit 2) before anything runs. What it does on a terminal is shown
// with a real pty in test/cli/terminal.test.ts.
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, listFiles, runCli, useSandboxes } from '../cli/helpers.js';

describe('--interactive refuses what leaves no terminal for one rank', () => {
  const box = useSandboxes();
  beforeAll(() => ensureBuilt());

  it.each([
    [[], 'but ddprun’s stdin is not a terminal'],
    [['--nproc-per-node=2'], 'but 2 ranks (local 0, 1) are shown on this node'],
    [['--nproc-per-node=3', '--local-ranks-filter=0,2'], 'but 2 ranks (local 0, 2) are shown on this node'],
    [['--json'], 'which --json keeps for its events'],
    [['--backend=torchrun'], 'which the torchrun backend cannot'],
  ])('%j: %s', async (args, message) => {
    const s = box();
    const result = await runCli(['--interactive', ...args, '--no-python', 'touch', 'ran'], { env: s.env, cwd: s.dir });
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toContain(message);
    expect(listFiles(s.dir).filter((f) => !f.startsWith('home/'))).toEqual([]);
  });

  it('`ddprun train`: not to rank 0, whose output tells the run folder, the epochs and where a restart resumes', async () => {
    const s = box();
    const trainer = ['pkg.mod.Trainer', 'device=0,1'];
    const result = await runCli(['train', '--interactive', '--local-ranks-filter', '0', ...trainer], {
      env: s.env,
      cwd: s.dir,
    });
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toContain('`ddprun train` follows the run');
    expect(listFiles(s.dir).filter((f) => !f.startsWith('home/'))).toEqual([]);
    // Rank 1 may have it (here refused only for the missing terminal).
    const other = await runCli(['train', '--interactive', '--local-ranks-filter', '1', ...trainer], {
      env: s.env,
      cwd: s.dir,
    });
    expect(other.code, other.stderr).toBe(2);
    expect(other.stderr).toContain('but ddprun’s stdin is not a terminal');
  });
});
