import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { terminalSafe } from '../../src/cli/terminal-safe.js';
import { listRuns } from '../../src/store/read.js';
import { CLI, runCli, useSandboxes } from './helpers.js';
import { ptyJob, type PtyJob } from '../helpers/pty.js';
import { torchPython } from '../helpers/python.js';

const python = await torchPython();
const box = useSandboxes();
const jobs: PtyJob[] = [];
afterEach(() => jobs.splice(0).forEach((j) => j.kill()));

const TITLE = '\x1b]0;pwned\x07';
const CLIPBOARD = '\x1b]52;c;ZXZpbA==\x07';
const RED = '\x1b[31mred\x1b[0m';
/** A rank that retitles the window, writes the clipboard, prints in colour, then raises with a title in its message. */
const SCRIPT = `import sys
print(${JSON.stringify(`${TITLE}${CLIPBOARD}${RED}`)}, flush=True)
raise RuntimeError(${JSON.stringify(`boom${TITLE}`)})
`;

/** What a command prints on a real terminal (stdout and stderr both reach it). */
async function onTerminal(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  const job = ptyJob([process.execPath, CLI, ...args], { ...env, NO_COLOR: '1' });
  jobs.push(job);
  await job.ended;
  return job.output();
}

describe('terminal escapes in the store', () => {
  it('keep colours, and show every other control character in caret notation', () => {
    expect(terminalSafe(`a${TITLE}b${RED}\x9b2J\r\tc\n`)).toBe('a^[]0;pwned^Gb\x1b[31mred\x1b[0mM-^[2J^M\tc\n');
    expect(terminalSafe('\x1b[2J\x1b[1;1H\x00\x7f')).toBe('^[[2J^[[1;1H^@^?');
  });

  it.skipIf(!python)('reach a terminal inert through logs, show and ps, and a pipe byte for byte', async () => {
    const s = box();
    // The script's own name carries a title sequence too: it is the run's COMMAND in ps.
    const script = path.join(s.out, `evil${TITLE}.py`);
    writeFileSync(script, SCRIPT);
    const run = await runCli(['--nproc-per-node', '1', script], { env: s.env, cwd: s.out });
    expect(run.code).toBe(1);
    const [recorded] = listRuns({ stateDir: s.state, all: true });
    const id = recorded!.id;

    const piped = await runCli(['logs', id], { env: s.env });
    expect(piped.stdout).toBe(`[rank0]:${TITLE}${CLIPBOARD}${RED}\n`);

    const logs = await onTerminal(['logs', id], s.env);
    expect(logs).toContain('[rank0]:^[]0;pwned^G^[]52;c;ZXZpbA==^G\x1b[31mred\x1b[0m');
    const show = await onTerminal(['show', id], s.env);
    expect(show).toContain('boom^[]0;pwned^G');
    const ps = await onTerminal(['ps', '--all'], s.env);
    expect(ps).toContain('evil^[]0;pwned^G.py');
    for (const text of [logs, show, ps]) {
      expect(text).not.toContain('\x07');
      // eslint-disable-next-line no-control-regex
      expect(text).not.toMatch(/\x1b(?!\[[0-9;]*m)/);
    }
  });
});
