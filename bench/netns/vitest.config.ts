import { defineConfig } from 'vitest/config';

// `npm run bench:lost-node`: measurements that need the suite's helpers (network namespaces) but assert nothing worth a test.
export default defineConfig({
  test: {
    root: new URL('../..', import.meta.url).pathname,
    include: ['bench/netns/*.test.ts'],
    setupFiles: ['test/setup-state-dir.ts'],
    globalSetup: ['test/build-dist.ts'],
    testTimeout: 300_000,
    hookTimeout: 120_000,
  },
});
