import { defineConfig } from 'vitest/config';

// Each package owns its vitest config; the root only lists them so `pnpm test` runs all.
export default defineConfig({
  test: {
    // Vitest's default is one worker less than the cores: a single file at a time on this
    // project's 2-core machines. Most files wait on PostgreSQL, Redis or child processes
    // rather than the CPU; each file has its own database and queue prefix, so three run at once.
    maxWorkers: 3,
    projects: ['packages/*/vitest.config.ts', 'apps/*/vitest.config.ts', 'test/vitest.config.ts'],
  },
});
