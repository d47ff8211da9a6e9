import { mergeConfig } from 'vitest/config';
import { packageTestConfig } from '../vitest.shared.js';

// `pnpm test:chaos`: the full fault scenarios, thousands of jobs each (CHAOS_JOBS, default 3000).
// One file at a time: each one loads the machine and measures how long recovery takes.
export default mergeConfig(
  packageTestConfig('chaos', { database: true, include: ['chaos/**/*.test.ts'], testTimeout: 1_800_000 }),
  { test: { fileParallelism: false, env: { CHAOS_JOBS: process.env.CHAOS_JOBS ?? '3000' } } },
);
