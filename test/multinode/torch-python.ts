import { findPython } from 'ddprun';

/**
 * The interpreter with torch for the tests that need one, or why they are skipped.
 * Under CI a missing torch throws, so the file fails instead of skipping.
 */
export async function torchPython(): Promise<
  { python: string; skip?: undefined } | { python?: undefined; skip: string }
> {
  try {
    return { python: (await findPython()).python };
  } catch (error) {
    if (process.env.CI) throw error;
    return { skip: `no Python with torch: ${(error as Error).message.split('\n')[0]}` };
  }
}
