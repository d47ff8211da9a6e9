import { defineConfig } from 'vitest/config';

// Each package owns its vitest config; the root only lists them so `pnpm test` runs all.
export default defineConfig({
  test: {
    // Vitest's default is one worker less than the cores: a single file at a time on this
    // project's 2-core machines. Most files wait on PostgreSQL, Redis or child processes
    // rather than the CPU, so two at a time cut `pnpm test` from about 7 to 4.5 minutes.
    maxWorkers: 2,
    projects: ['packages/*/vitest.config.ts', 'apps/*/vitest.config.ts', 'test/vitest.config.ts'],
  },
});
