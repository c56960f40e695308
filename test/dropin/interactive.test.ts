// --interactive's refusals: each a usage error (exit 2) before anything runs. What it does on a terminal is shown
// with a real pty in test/cli/terminal.test.ts.
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveOptions } from 'ddprun';
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

describe('--interactive and log files', () => {
  // The rank on the terminal is not captured, so it asks for no log folder: no temp folder, no warning about one.
  it('redirecting only the terminal rank makes no temp log folder and warns of none; another rank still gets one', async () => {
    const entry = { command: 'true', args: [] };
    const alone = await resolveOptions(
      { entry, nprocPerNode: 1, interactive: true, redirects: 'all', tee: 'stdout' },
      { probe: false },
    );
    expect(alone.logDir).toBeUndefined();
    expect(alone.warnings.join('\n')).not.toContain('without --log-dir');
    const other = await resolveOptions(
      { entry, nprocPerNode: 2, localRanksFilter: [1], interactive: true, redirects: 'all' },
      { probe: false },
    );
    expect(other.logDir).toMatch(/ddprun-logs-/);
    expect(other.warnings.join('\n')).toContain('without --log-dir');
  });
});
