// torchrun runs `os.getenv("PYTHON_EXEC", sys.executable)`: ddprun honours PYTHON_EXEC, and `--python wrapper.sh`
// runs the wrapper itself (not the interpreter the wrapper starts).
import { chmodSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, runCli, useSandboxes } from '../cli/helpers.js';
import { torchPython } from '../helpers/python.js';

const python = await torchPython();
const run = python ? describe : describe.skip;

run('PYTHON_EXEC and --python wrapper', () => {
  const box = useSandboxes();
  beforeAll(() => ensureBuilt());

  function wrapper(dir: string): string {
    const file = path.join(dir, 'wrapper.sh');
    writeFileSync(file, `#!/bin/sh\necho "wrapped rank $RANK" >&2\nexec ${python} "$@"\n`);
    chmodSync(file, 0o755);
    return file;
  }

  for (const how of ['--python', 'PYTHON_EXEC'] as const) {
    it(`runs the wrapper given by ${how} for every rank`, async () => {
      const s = box();
      const file = wrapper(s.dir);
      const script = path.join(s.dir, 'hello.py');
      writeFileSync(script, 'import os\nprint("hello from", os.environ["RANK"])\n');
      const args = [...(how === '--python' ? ['--python', file] : []), '--nproc-per-node=2', script];
      const dry = await runCli(['--dry-run', ...args], {
        env: { ...s.env, ...(how === 'PYTHON_EXEC' ? { PYTHON_EXEC: file } : {}) },
        cwd: s.dir,
      });
      expect(dry.code, dry.stderr).toBe(0);
      expect(dry.stdout).toMatch(new RegExp(`argv: .* -- (.* )?${file} -u ${script}\n`));
      const result = await runCli(args, {
        env: { ...s.env, ...(how === 'PYTHON_EXEC' ? { PYTHON_EXEC: file } : {}) },
        cwd: s.dir,
      });
      expect(result.code, result.stderr).toBe(0);
      for (const rank of [0, 1]) {
        expect(result.stderr).toContain(`[rank${rank}]:wrapped rank ${rank}`);
        expect(result.stdout).toContain(`[rank${rank}]:hello from ${rank}`);
      }
    }, 120_000);
  }
});
