import { createRequire } from 'node:module';
import path from 'node:path';
import * as root from 'ddprun';
import * as slurm from 'ddprun/slurm';
import * as ultralytics from 'ddprun/ultralytics';
import { describe, expect, it } from 'vitest';
import { ROOT } from './cli/helpers.js';

// The library's contract as a program sees it: the three public entries, loaded by the package's name through
// package.json "exports" (so from dist/, as a user's import is). Tests that need only public behaviour import these
// entries too, so moving a module inside src/ changes no test.

const require = createRequire(import.meta.url);
const ENTRIES: [string, Record<string, unknown>][] = [
  ['ddprun', root],
  ['ddprun/ultralytics', ultralytics],
  ['ddprun/slurm', slurm],
];

const errorClasses = (module: Record<string, unknown>): [string, new (...args: never[]) => Error][] =>
  Object.entries(module).filter(
    (entry): entry is [string, new (...args: never[]) => Error] =>
      typeof entry[1] === 'function' && (entry[1] as { prototype: unknown }).prototype instanceof Error,
  );

describe('the public entries', () => {
  it('resolve through package.json "exports" to dist/, and nothing else of the package does', () => {
    expect(require.resolve('ddprun')).toBe(path.join(ROOT, 'dist', 'index.js'));
    expect(require.resolve('ddprun/ultralytics')).toBe(path.join(ROOT, 'dist', 'ultralytics', 'index.js'));
    expect(require.resolve('ddprun/slurm')).toBe(path.join(ROOT, 'dist', 'slurm', 'index.js'));
    for (const internal of ['ddprun/dist/launch/run/launch.js', 'ddprun/src/index.ts', 'ddprun/launch'])
      expect(() => require.resolve(internal), internal).toThrow(
        expect.objectContaining({
          code: 'ERR_PACKAGE_PATH_NOT_EXPORTED',
        }) as Error,
      );
  });

  it('export the library’s functions, each a function', () => {
    const functions: Record<string, string[]> = {
      ddprun: ['launch', 'resolveOptions', 'planAttempt', 'findPython', 'probeTorch', 'listRuns', 'getRun', 'stopRun'],
      'ddprun/ultralytics': ['generateDdpFile', 'generateDdpCommand', 'ddpCleanup', 'toPythonLiteral'],
      'ddprun/slurm': ['expandSlurmNodelist', 'slurmLaunchDefaults', 'renderSbatchScript', 'submitSbatch'],
    };
    for (const [entry, module] of ENTRIES)
      for (const name of functions[entry]!) expect(typeof module[name], `${entry} ${name}`).toBe('function');
  });

  it('share one error hierarchy: every error class of every entry is a DdprunError of the root entry', () => {
    const all = ENTRIES.flatMap(([entry, module]) =>
      errorClasses(module).map(([name, cls]) => ({ name: `${entry} ${name}`, cls })),
    );
    expect(all.length).toBeGreaterThan(10);
    for (const { name, cls } of all)
      expect(cls === root.DdprunError || cls.prototype instanceof root.DdprunError, name).toBe(true);
  });

  it('throw the root entry’s UsageError, with its code, for bad input to any entry', async () => {
    const fromLaunch = await root
      .launch({ entry: { script: '' }, console: false })
      .result.catch((error: unknown) => error);
    const fromUltralytics = await ultralytics
      .generateDdpCommand(0, { args: {} } as unknown as ultralytics.DdpTrainer)
      .catch((error: unknown) => error);
    let fromSlurm: unknown;
    try {
      slurm.expandSlurmNodelist('node[1-2');
    } catch (error) {
      fromSlurm = error;
    }
    for (const error of [fromLaunch, fromUltralytics, fromSlurm]) {
      expect(error).toBeInstanceOf(root.UsageError);
      expect((error as root.UsageError).code).toMatch(/^ERR_DDPRUN_/);
    }
  });
});
