import { findPython } from '../../src/python/find-python.js';

/**
 * The interpreter with torch, or undefined when there is none. Under CI a missing torch is a failure, never a skip:
 * `.ci/run` installs it.
 */
export async function torchPythonOrSkip(): Promise<string | undefined> {
  try {
    return (await findPython()).python;
  } catch (error) {
    if (process.env.CI) throw error;
    console.warn(`Skipping torch tests: ${(error as Error).message}`);
    return undefined;
  }
}
