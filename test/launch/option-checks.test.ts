import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { launch, type LaunchOptions, UsageError } from 'ddprun';
import { pidAlive, tempDir, waitGone } from '../helpers/procs.js';

const entry = { command: 'true' };

// [option, value, the whole message]: each is refused with a UsageError that names the option.
const BAD: [string, unknown, string][] = [
  ['cwd', 5, 'Expected the `cwd` option to be a directory path, got `5` (number)'],
  [
    'masterAddr',
    127,
    'Expected the `masterAddr` option to be an IP address or a host name (a string), got `127` (number)',
  ],
  ['python', 3, 'Expected the `python` option to be a path to a Python interpreter, got `3` (number)'],
  ['console', 'no', 'Expected the `console` option to be `true` or `false`, got `"no"` (string)'],
  ['handleSignals', 'false', 'Expected the `handleSignals` option to be `true` or `false`, got `"false"` (string)'],
  [
    'rdzvBackend',
    5,
    "Expected the `rdzvBackend` option to be one of 'static', 'c10d', 'etcd', 'etcd-v2', got `5` (number)",
  ],
  [
    'rdzvBackend',
    'foo',
    "Expected the `rdzvBackend` option to be one of 'static', 'c10d', 'etcd', 'etcd-v2', got `\"foo\"` (string)",
  ],
  [
    'rdzvId',
    {},
    'Expected the `rdzvId` option to be a non-empty string of letters, digits, `_`, `.` and `-`, got `{}` (object)',
  ],
  [
    'redirects',
    ['all'],
    "Expected the `redirects` option to be one of 'none', 'stdout', 'stderr', 'all' or a map from local rank to one of them, got `[\"all\"]` (array)",
  ],
  [
    'nprocPerNode',
    Number.NaN,
    "Expected the `nprocPerNode` option to be an integer from 1 to 4096, or 'auto', 'gpu' or 'cpu', got `NaN` (number)",
  ],
  [
    'maxRestarts',
    Infinity,
    'Expected the `maxRestarts` option to be an integer from 0 to 1000000, got `Infinity` (number)',
  ],
  ['backend', 'slurm', "Expected the `backend` option to be one of 'native', 'torchrun', got `\"slurm\"` (string)"],
  ['configDir', 7, 'Expected the `configDir` option to be a directory path, got `7` (number)'],
  ['logDir', '', 'Expected the `logDir` option to be a directory path, got `""` (string)'],
  [
    'env',
    { 'A=B': 'x' },
    'Expected the `env` option to be an object whose keys are variable names (no `=`, no NUL), got `"A=B"` (string)',
  ],
  [
    'env',
    { A: 'x\0y' },
    'Expected the `env.A` option to be a string without NUL characters, got `"x\\u0000y"` (string)',
  ],
  ['signal', 'abort', 'Expected the `signal` option to be an AbortSignal, got `"abort"` (string)'],
  [
    'localRanksFilter',
    [0, 0.5],
    'Expected the `localRanksFilter` option to be an array of local ranks from 0 to 0, got `[0,0.5]` (array)',
  ],
];

describe('launch() checks every option before doing anything', () => {
  it.each(BAD)('refuses %s = %j with a UsageError naming it', async (option, value, message) => {
    const { dir, cleanup } = tempDir();
    try {
      const options = { entry, logDir: path.join(dir, 'logs'), [option]: value } as unknown as LaunchOptions;
      const error = (await launch(options).result.catch((e: unknown) => e)) as UsageError;
      expect(error).toBeInstanceOf(UsageError);
      expect(error.message).toBe(message);
      expect(error.option).toBe(option === 'env' && message.includes('env.A') ? 'env.A' : option);
      expect(readdirSync(dir)).toEqual([]); // no log folder, nothing written
    } finally {
      cleanup();
    }
  });

  it('refuses entry.args with a NUL, which no argv can carry', async () => {
    const error = (await launch({ entry: { command: 'true', args: ['a\0b'] } }).result.catch(
      (e: unknown) => e,
    )) as UsageError;
    expect(error).toBeInstanceOf(UsageError);
    expect(error.message).toBe(
      'Expected the `entry.args` option to be an array of strings without NUL characters, got `["a\\u0000b"]` (array)',
    );
  });

  it("checks stop()'s signal: a name it does not know, or a number, is refused and the ranks keep running", async () => {
    const { dir, cleanup } = tempDir();
    try {
      const pidFile = path.join(dir, 'pid');
      const handle = launch({
        entry: { command: 'sh', args: ['-c', `echo $$ > ${pidFile}; exec sleep 60`] },
        console: false,
        handleSignals: false,
        gracePeriodMs: 10_000,
      });
      const started = new Promise<number>((resolve) => handle.on('started', ({ pid }) => resolve(pid)));
      const pid = await started;
      for (const bad of ['SIGFOO', 9, 'sigterm', '']) {
        let thrown: unknown;
        try {
          handle.stop(bad as NodeJS.Signals);
        } catch (error) {
          thrown = error;
        }
        expect(thrown).toBeInstanceOf(UsageError);
        expect((thrown as Error).message).toBe(
          `Expected the \`signal\` option to be a signal name such as \`SIGTERM\` or \`SIGINT\`, got ${typeof bad === 'number' ? `\`${bad}\` (number)` : `\`${JSON.stringify(bad)}\` (string)`}`,
        );
      }
      expect(pidAlive(pid)).toBe(true);
      handle.stop('SIGTERM');
      const result = await handle.result;
      expect(result.signal).toBe('SIGTERM');
      expect(await waitGone([pid], 10_000)).toEqual([]);
    } finally {
      cleanup();
    }
  }, 30_000);
});
