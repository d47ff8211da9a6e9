import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { scenarioArbitrary } from './arbitraries.js';
import { emptyStats, runScenario, useTruthWorld } from './harness.js';

/** `pnpm test:truth` sets TRUTH_RUNS=1000; `pnpm test` runs this short version. */
const RUNS = Number(process.env.TRUTH_RUNS ?? 15);
/** TRUTH_SEED repeats a run; TRUTH_SHRINK=0 reports the first failure without shrinking it. */
const SEED = process.env.TRUTH_SEED === undefined ? undefined : Number(process.env.TRUTH_SEED);
const SHRINK = process.env.TRUTH_SHRINK !== '0';
/** GitLab may skip a pending job when an earlier stage failed (TRUTH_SKIP_PENDING=0 leaves that out). */
const SKIP_PENDING = process.env.TRUTH_SKIP_PENDING !== '0';

const world = useTruthWorld('e2e_truth');

describe('the truth model through gateway → queue → worker → reconciliation', () => {
  it(
    `every flavor's pressure equals the jobs waiting for or running on it, at every step (${RUNS} scenarios)`,
    async () => {
      const stats = emptyStats();
      const started = performance.now();
      try {
        await fc.assert(
          fc.asyncProperty(scenarioArbitrary, async (scenario) => {
            await runScenario(world, scenario, stats, { skipPending: SKIP_PENDING });
          }),
          { numRuns: RUNS, endOnFailure: !SHRINK, ...(SEED === undefined ? {} : { seed: SEED }) },
        );
      } finally {
        const seconds = (performance.now() - started) / 1000;
        console.log(`truth: ${JSON.stringify({ ...stats, seconds: Math.round(seconds) })}`);
      }
      expect(stats.scenarios).toBeGreaterThanOrEqual(RUNS);
    },
    // About a second a scenario on a 2-core machine, with room for shrinking a failure.
    120_000 + RUNS * 5_000,
  );
});
