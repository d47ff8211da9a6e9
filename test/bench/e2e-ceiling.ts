import type { Cleanup } from '@runner-planner/bench-kit';
import type { BenchConfig } from './config.js';
import { type E2eResult, runE2eAtRate } from './e2e-bench.js';

/** The p99 202 → visible an autoscaler can live with (issue 16). */
export const E2E_P99_LIMIT_MS = 250;

export interface CeilingResult {
  /** The highest stepped rate whose p99 stayed within the limit; 0 if none did. */
  highestPassingRate: number;
  steps: E2eResult[];
}

const passes = (step: E2eResult) =>
  step.visible.p99Ms <= E2E_P99_LIMIT_MS && step.notSeen === 0 && step.accepted === step.events;

/**
 * Steps the end-to-end rate up (`config.e2eCeiling.rates`, in order) until the 202 → visible p99
 * passes the limit, or an event is refused or lost; each step has its own database, queue and apps.
 */
export async function runE2eCeiling(
  config: BenchConfig,
  cleanup: Cleanup,
  log: (message: string) => void,
): Promise<CeilingResult> {
  const steps: E2eResult[] = [];
  let highestPassingRate = 0;
  for (const rate of config.e2eCeiling.rates) {
    let step: E2eResult;
    try {
      step = await runE2eAtRate(config, rate, config.e2eCeiling.seconds, cleanup, log);
    } finally {
      await cleanup.runAll();
    }
    steps.push(step);
    if (!passes(step)) break;
    highestPassingRate = rate;
  }
  return { highestPassingRate, steps };
}
