// The environment each rank sees under torchrun (torch's own `python -m torch.distributed.run`) and under ddprun, for
// the same command line: every difference is one of the explained ones below.
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, runCli, useSandboxes } from '../cli/helpers.js';
import { runPython, torchPython } from '../helpers/python.js';
import { findFreeNetworkPort } from 'ddprun/ultralytics';

const DUMP = path.join(path.dirname(fileURLToPath(import.meta.url)), 'bin', 'dump_env.py');
const python = await torchPython();
const run = python ? describe : describe.skip;

/** Differences with a reason (docs/torchrun.md, "Deliberate differences"). */
const EXPLAINED: Record<string, string> = {
  TORCHELASTIC_ERROR_FILE: "a path: torchrun's temp folder vs ddprun's log folder",
  TORCHELASTIC_USE_AGENT_STORE: 'torchrun: True (its agent hosts the store); ddprun has no agent, rank 0 hosts it',
  _: 'set by the shell to the launcher executable',
};

run('rank environment: torchrun vs ddprun', () => {
  const box = useSandboxes();
  beforeAll(() => ensureBuilt());

  it('differs only where explained', async () => {
    const s = box();
    const torchrunDir = path.join(s.dir, 'torchrun');
    const ddprunDir = path.join(s.dir, 'ddprun');
    mkdirSync(torchrunDir);
    mkdirSync(ddprunDir);
    const port = String(await findFreeNetworkPort());
    // torch 1.13 on Python 3.11 needs --redirects/--tee other than 0 (its Std.from_str bug); both get the same flags.
    const flags = ['--redirects', '1', '--tee', '1', '--nproc_per_node', '2', '--master_port', port];
    await runPython(python as string, ['-m', 'torch.distributed.run', ...flags, DUMP, torchrunDir], {
      ...s.env,
      _: '/launcher',
    });
    const result = await runCli([...flags, DUMP, ddprunDir], { env: { ...s.env, _: '/launcher' }, cwd: process.cwd() });
    expect(result.code, result.stderr).toBe(0);
    const unexplained: string[] = [];
    for (const rank of ['0', '1']) {
      const a = JSON.parse(readFileSync(path.join(torchrunDir, `${rank}.json`), 'utf8')) as Record<string, string>;
      const b = JSON.parse(readFileSync(path.join(ddprunDir, `${rank}.json`), 'utf8')) as Record<string, string>;
      for (const key of new Set([...Object.keys(a), ...Object.keys(b)]))
        if (a[key] !== b[key] && !(key in EXPLAINED)) unexplained.push(`rank ${rank} ${key}: ${a[key]} vs ${b[key]}`);
      expect(b.TORCHELASTIC_USE_AGENT_STORE).toBe('False');
    }
    expect(unexplained).toEqual([]);
  }, 180_000);
});
