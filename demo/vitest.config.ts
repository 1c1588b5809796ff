import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'demo',
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    environment: 'node',
    // Real child processes start and stop in these tests; a shared 2-core CI machine needs headroom.
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
