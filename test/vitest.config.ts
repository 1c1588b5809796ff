import { defineConfig } from 'vitest/config';

// Cross-component end-to-end tests: they start real Prometheus/Alertmanager and our services,
// so they run one file at a time and get generous timeouts. The closed-loop test runs only when asked for
// (SELFHEAL_E2E_CLOSED_LOOP=1: `npm run test:closed-loop`, or `SELFHEAL_E2E_CLOSED_LOOP=1 npm test`, which runs it
// last and alone, see scripts/test.sh).
export default defineConfig({
  test: {
    name: 'e2e',
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', 'dist/**', ...(process.env.SELFHEAL_E2E_CLOSED_LOOP === '1' ? [] : ['closed-loop.test.ts'])],
    environment: 'node',
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
});
