import { defineConfig } from 'vitest/config';

// Each package owns its vitest config; the root only lists them so `pnpm test` runs all.
export default defineConfig({
  test: {
    projects: ['packages/*/vitest.config.ts', 'apps/*/vitest.config.ts', 'test/vitest.config.ts'],
  },
});
