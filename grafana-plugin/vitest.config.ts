import { fileURLToPath } from 'node:url';

import { defineProject } from 'vitest/config';

// Unit and component tests run in jsdom; the real-browser test (test/browser.test.ts) builds the plugin and
// drives Chromium itself, so it gets a long timeout. @grafana/* ship ESM that Node cannot load untransformed.
export default defineProject({
  test: {
    name: 'grafana-plugin',
    environment: 'jsdom',
    include: ['src/**/*.test.{ts,tsx}', 'test/**/*.test.{ts,tsx}'],
    setupFiles: ['./test/setup.ts'],
    testTimeout: 20_000,
    hookTimeout: 240_000,
    server: { deps: { inline: [/@grafana\//] } },
    alias: {
      'react-inlinesvg': fileURLToPath(new URL('./test/mocks/react-inlinesvg.tsx', import.meta.url)),
    },
  },
});
