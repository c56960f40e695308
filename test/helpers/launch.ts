import path from 'node:path';
import { afterEach } from 'vitest';
import { tempDir } from './procs.js';

/** A fixture of test/fixtures/launch/. */
export const launchFixture = (name: string): string => path.resolve('test/fixtures/launch', name);

/**
 * The launcher tests' shared set-up: `cleanups` run (in order, awaited) after each test, and `tempDir()` gives a
 * fresh folder removed then.
 */
export function useCleanups(): { cleanups: (() => unknown)[]; tempDir: () => string } {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });
  return {
    cleanups,
    tempDir: () => {
      const t = tempDir();
      cleanups.push(t.cleanup);
      return t.dir;
    },
  };
}
