import { defineConfig } from 'vitest/config';

// Cross-component end-to-end tests: they start real Prometheus/Alertmanager and our services,
// so they run one file at a time and get generous timeouts.
export default defineConfig({
  test: {
    name: 'e2e',
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', 'dist/**'],
    environment: 'node',
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
});
