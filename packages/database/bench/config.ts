/** Sizes and iteration counts; each can be lowered through the environment for a quick smoke run. */
export interface BenchConfig {
  /** Admin URL of the server: the benchmark creates and drops its own database there. */
  adminUrl: string;
  jobs: number;
  incompleteJobs: number;
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

function intFromEnv(name: string, fallback: number): number {
  const value = process.env[name];
  if (value === undefined || value === '') return fallback;
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed) || parsed <= 0) {
    throw new Error(`${name} must be a positive integer, got "${value}"`);
  }
  return parsed;
}

export function loadConfig(): BenchConfig {
  const config: BenchConfig = {
    adminUrl: process.env.BENCH_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres',
    jobs: intFromEnv('BENCH_JOBS', 1_000_000),
    incompleteJobs: intFromEnv('BENCH_INCOMPLETE_JOBS', 50_000),
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
  if (config.incompleteJobs > config.jobs) {
    throw new Error('BENCH_INCOMPLETE_JOBS cannot exceed BENCH_JOBS');
  }
  return config;
}
