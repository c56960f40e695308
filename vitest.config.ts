import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // A temp DDPRUN_STATE_DIR per test file: launches are recorded, never into the real state dir.
    setupFiles: ['test/setup-state-dir.ts'],
    // dist/ built and current before any test file loads: tests import the public entries, which resolve to dist/.
    globalSetup: ['test/build-dist.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Tests spawn real Python/torch processes; two cores, so keep parallelism low.
    maxWorkers: 2,
    minWorkers: 1,
    fileParallelism: true,
  },
});
