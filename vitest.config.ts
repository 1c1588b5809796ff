import { defineConfig } from 'vitest/config';

// One run over every package; each project keeps its own config (environment, timeouts).
export default defineConfig({
  test: {
    projects: ['contracts', 'stack', 'exporter', 'webhook', 'demo', 'cli', 'test', 'grafana-plugin'],
  },
});
