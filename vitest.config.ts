import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Tests spawn real Python/torch processes; two cores, so keep parallelism low.
    maxWorkers: 2,
    minWorkers: 1,
    fileParallelism: true,
  },
});
