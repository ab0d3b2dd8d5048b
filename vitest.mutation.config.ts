import { defineConfig } from 'vitest/config';
import { yamlVitePlugin } from './scripts/yaml-plugin.mjs';

/**
 * The tests Stryker runs against the mutants of src/spend (`npm run mutation`, stryker.config.mjs): the unit
 * tests of the spend code, and spend_report's, the one test of src/spend/report.ts (in-memory client, no
 * build, no child process). Not used by `npm test`. `npx vitest run -c vitest.mutation.config.ts` runs them.
 */
export default defineConfig({
  plugins: [yamlVitePlugin],
  test: {
    include: ['test/spend/**/*.test.ts', 'test/tools/spend_report.test.ts'],
    environment: 'node',
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
