import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Lab and end-to-end tests share one 2-core machine; a few files at a time keeps timings honest.
    maxWorkers: 2,
  },
});
