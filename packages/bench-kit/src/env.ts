/**
 * An integer knob from the environment, `fallback` when unset: every size and duration can be
 * lowered for a quick smoke run without editing code. `min` is 1 unless zero means "skip".
 */
export function intFromEnv(name: string, fallback: number, min = 1): number {
  const value = process.env[name];
  if (value === undefined || value === '') return fallback;
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed) || parsed < min) {
    throw new Error(`${name} must be an integer ≥ ${min}, got "${value}"`);
  }
  return parsed;
}

/** Comma-separated positive integers (rates, connection counts), `fallback` when unset. */
export function listFromEnv(name: string, fallback: number[]): number[] {
  const value = process.env[name];
  if (value === undefined || value === '') return fallback;
  const parsed = value.split(',').map((part) => Number(part.trim()));
  if (parsed.some((n) => !Number.isSafeInteger(n) || n <= 0)) {
    throw new Error(`${name} must be a comma-separated list of positive integers, got "${value}"`);
  }
  return parsed;
}

/** Admin URL of the PostgreSQL server the benchmarks make their scratch databases on. */
export function adminUrlFromEnv(): string {
  return process.env.BENCH_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
}

/**
 * Size of the job table the database and planner benchmarks load. One pair of variables for
 * both, so a figure of one can be set beside the other's on the same data.
 */
export interface DataSize {
  jobs: number;
  incompleteJobs: number;
}

export function dataSizeFromEnv(): DataSize {
  const size = {
    jobs: intFromEnv('BENCH_JOBS', 1_000_000),
    incompleteJobs: intFromEnv('BENCH_INCOMPLETE_JOBS', 50_000),
  };
  if (size.incompleteJobs > size.jobs) throw new Error('BENCH_INCOMPLETE_JOBS cannot exceed BENCH_JOBS');
  return size;
}
