import { adminUrlFromEnv, type DataSize, dataSizeFromEnv, intFromEnv } from '@runner-planner/bench-kit';

/** Sizes and iteration counts; each can be lowered through the environment for a quick smoke run. */
export interface BenchConfig extends DataSize {
  /** Admin URL of the server: the benchmark creates and drops its own database there. */
  adminUrl: string;
  /** getPressures calls per side, split evenly over `pressureRounds`. */
  pressureIterations: number;
  pressureRounds: number;
  pressureWarmup: number;
  /** Seconds per side and case: a side slower than that gets fewer than `pressureIterations` calls. */
  pressureBudgetSeconds: number;
  /** addJob calls per side, split evenly over `addJobRounds`. */
  addJobCount: number;
  addJobRounds: number;
  addJobCallers: number;
  /** Unassigned incomplete jobs that one addFlavor call re-assigns. */
  reassignJobs: number;
  reassignRounds: number;
}

export function loadConfig(): BenchConfig {
  return {
    adminUrl: adminUrlFromEnv(),
    ...dataSizeFromEnv(),
    pressureIterations: intFromEnv('BENCH_PRESSURE_ITERATIONS', 2_000),
    pressureRounds: 4,
    pressureWarmup: 50,
    pressureBudgetSeconds: intFromEnv('BENCH_PRESSURE_BUDGET_S', 20),
    addJobCount: intFromEnv('BENCH_ADD_JOBS', 20_000),
    addJobRounds: 4,
    addJobCallers: 16,
    reassignJobs: intFromEnv('BENCH_REASSIGN_JOBS', 100_000),
    reassignRounds: 2,
  };
}
