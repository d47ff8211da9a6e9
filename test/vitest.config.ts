import { packageTestConfig } from '../vitest.shared.js';

// These tests run the built apps (`pnpm build` first; `pnpm test` does it).
export default packageTestConfig('e2e', {
  database: true,
  include: [
    'ingestion/**/*.test.ts',
    'observability/**/*.test.ts',
    'infra/**/*.test.ts',
    'fuzz/**/*.test.ts',
    'security/**/*.test.ts',
    'soak/**/*.test.ts',
    'chaos/**/*.test.ts',
    'truth/**/*.test.ts',
    'scaling/**/*.test.ts',
  ],
  testTimeout: 120_000,
});
