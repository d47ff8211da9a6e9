import { fileURLToPath } from 'node:url';
import { adminUrlFromEnv, intFromEnv, listFromEnv } from '@runner-planner/bench-kit';

/** Sizes and rates; each can be changed through the environment (smaller for a quick smoke run). */
export interface BenchConfig {
  /** Admin URL of a PostgreSQL server: each run creates its own databases there and drops them. */
  adminUrl: string;
  /** Which benchmarks to run, in this order. */
  only: BenchName[];
  gateway: {
    seconds: number;
    warmupSeconds: number;
    connections: number;
    /** Requests/s of the fixed-rate runs. */
    rate: number;
  };
  worker: { events: number; jobs: number; concurrency: number; processes: number[] };
  e2e: {
    /** Events/s of each end-to-end run: the first is the one the goal is judged at. */
    rates: number[];
    seconds: number;
    concurrency: number;
    pollMs: number;
    /** Seconds sent at the same rate before the measured part, and left out of its figures. */
    warmupSeconds: number;
  };
  /** Rates stepped up in one run until the end-to-end p99 no longer holds (the first that fails ends it). */
  e2eCeiling: { rates: number[]; seconds: number };
  flavors: number;
  /** Environment for the gateway and worker processes: CPU profiles when BENCH_CPU_PROFILE_DIR is set. */
  appEnv: Record<string, string>;
}

export const BENCH_NAMES = ['gateway', 'replica-acks', 'worker', 'e2e', 'e2e-ceiling'] as const;
export type BenchName = (typeof BENCH_NAMES)[number];

function onlyFromEnv(): BenchName[] {
  const value = process.env.BENCH_ONLY;
  if (value === undefined || value === '') return [...BENCH_NAMES];
  const names = value.split(',').map((name) => name.trim());
  for (const name of names) {
    if (!(BENCH_NAMES as readonly string[]).includes(name)) {
      throw new Error(`BENCH_ONLY: unknown benchmark "${name}" (one of ${BENCH_NAMES.join(', ')})`);
    }
  }
  return names as BenchName[];
}

export function loadConfig(): BenchConfig {
  const config: BenchConfig = {
    adminUrl: adminUrlFromEnv(),
    only: onlyFromEnv(),
    gateway: {
      seconds: intFromEnv('BENCH_GATEWAY_SECONDS', 20),
      warmupSeconds: intFromEnv('BENCH_GATEWAY_WARMUP_SECONDS', 3),
      connections: intFromEnv('BENCH_GATEWAY_CONNECTIONS', 50),
      rate: intFromEnv('BENCH_GATEWAY_RATE', 1_000),
    },
    worker: {
      events: intFromEnv('BENCH_WORKER_EVENTS', 20_000),
      jobs: intFromEnv('BENCH_WORKER_JOBS', 7_000),
      concurrency: intFromEnv('BENCH_WORKER_CONCURRENCY', 32),
      // Worker processes draining one hot flavor's events, one run per entry.
      processes: listFromEnv('BENCH_WORKER_PROCESSES', [1, 2]),
    },
    e2e: {
      rates: listFromEnv('BENCH_E2E_RATES', [500, 150]),
      seconds: intFromEnv('BENCH_E2E_SECONDS', 30),
      concurrency: intFromEnv('BENCH_WORKER_CONCURRENCY', 32),
      pollMs: intFromEnv('BENCH_E2E_POLL_MS', 10),
      warmupSeconds: intFromEnv('BENCH_E2E_WARMUP_SECONDS', 5, 0),
    },
    e2eCeiling: {
      rates: listFromEnv('BENCH_E2E_CEILING_RATES', [200, 300, 400, 500, 600, 800, 1_000, 1_200]),
      seconds: intFromEnv('BENCH_E2E_CEILING_SECONDS', 20),
    },
    flavors: intFromEnv('BENCH_FLAVORS', 20),
    // For finding where the apps spend their time; profiling slows them, so not for figures.
    appEnv: process.env.BENCH_CPU_PROFILE_DIR
      ? {
          BENCH_CPU_PROFILE_DIR: process.env.BENCH_CPU_PROFILE_DIR,
          NODE_OPTIONS: `--import ${fileURLToPath(new URL('./cpu-profile.mjs', import.meta.url))}`,
        }
      : {},
  };
  if (config.worker.events > config.worker.jobs * 3) {
    throw new Error(
      'BENCH_WORKER_EVENTS cannot exceed 3 × BENCH_WORKER_JOBS (queued, in_progress, completed)',
    );
  }
  return config;
}
