import { defineConfig } from 'vitest/config';
import { yamlVitePlugin } from './scripts/yaml-plugin.mjs';

export default defineConfig({
  plugins: [yamlVitePlugin],
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    // HOME, ATELIER_HOME and the XDG folders in a temporary folder for every test file: never the user's own.
    setupFiles: ['test/setup/home.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: e2e tests spawn processes, so keep workers to the core count.
    maxWorkers: 2,
  },
});
