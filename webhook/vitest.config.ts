import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    name: 'webhook',
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    environment: 'node',
  },
});
