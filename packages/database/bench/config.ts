import { adminUrlFromEnv, type DataSize, dataSizeFromEnv, intFromEnv } from '@runner-planner/bench-kit';

const SCENARIOS = ['reads-and-inserts', 'write-mix'] as const;
type Scenario = (typeof SCENARIOS)[number];

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
  /** Jobs per side and shape of the write mix (three writes each), split over `writeMixRounds`. */
  writeMixJobs: number;
  writeMixRounds: number;
  writeMixInFlight: number;
  /** BENCH_SCENARIOS: which parts run (default all). */
  scenarios: Set<Scenario>;
}

function scenariosFromEnv(): Set<Scenario> {
  const value = process.env.BENCH_SCENARIOS;
  if (value === undefined || value === '') return new Set(SCENARIOS);
  const picked = value.split(',').map((part) => part.trim());
  const unknown = picked.filter((part) => !(SCENARIOS as readonly string[]).includes(part));
  if (unknown.length > 0)
    throw new Error(`BENCH_SCENARIOS: unknown ${unknown.join(', ')}; known: ${SCENARIOS.join(', ')}`);
  return new Set(picked as Scenario[]);
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
    writeMixJobs: intFromEnv('BENCH_WRITE_MIX_JOBS', 8_000),
    writeMixRounds: 4,
    writeMixInFlight: 32,
    scenarios: scenariosFromEnv(),
  };
}
