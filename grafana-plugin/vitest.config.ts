import { fileURLToPath } from 'node:url';

import { defineProject } from 'vitest/config';

// Unit and component tests run in jsdom; the real-browser test (test/browser.test.ts) and the archive test
// (test/archive.test.ts) need the production build, made once per run (globalSetup + test/harness/buildOnce.ts), and
// get long hook timeouts. @grafana/* ship ESM that Node cannot load untransformed.
export default defineProject({
  test: {
    name: 'grafana-plugin',
    environment: 'jsdom',
    include: ['src/**/*.test.{ts,tsx}', 'test/**/*.test.{ts,tsx}'],
    setupFiles: ['./test/setup.ts'],
    globalSetup: ['./test/globalSetup.ts'],
    testTimeout: 20_000,
    hookTimeout: 240_000,
    server: { deps: { inline: [/@grafana\//] } },
    alias: {
      'react-inlinesvg': fileURLToPath(new URL('./test/mocks/react-inlinesvg.tsx', import.meta.url)),
    },
  },
});
