import {
  type BenchConfig as DataConfig,
  loadConfig as loadDataConfig,
} from '../../../packages/database/bench/config.js';

/** Sizes of the planner benchmark; each can be lowered through the environment for a quick run. */
export interface PlannerBenchConfig {
  /** Admin URL, jobs and incomplete jobs, as the database benchmark reads them (BENCH_DATABASE_URL, BENCH_JOBS, …). */
  data: DataConfig;
  /** Pressure streams opened on one planner process, of which `allStreams` watch `_`. */
  streams: number;
  allStreams: number;
  /** Flavors the other streams are spread over (each change moves all of them). */
  streamFlavors: number;
  /** Streams waiting for their first line at any time while opening. */
  openConcurrency: number;
  /** Pressure changes timed with every stream open. */
  changes: number;
  /** Autocannon connection counts, each measured on both sides. */
  httpConnections: number[];
  httpSeconds: number;
  httpWarmupSeconds: number;
  /** Rounds per side and connection count (sides alternate: A B, B A, …). */
  httpRounds: number;
  /** Seconds of the pure-SQL loop per connection count. */
  sqlSeconds: number;
  /** LOG_LEVEL of the planner under test. */
  logLevel: string;
}

function intFromEnv(name: string, fallback: number): number {
  const value = process.env[name];
  if (value === undefined || value === '') return fallback;
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed) || parsed < 0) {
    throw new Error(`${name} must be a non-negative integer, got "${value}"`);
  }
  return parsed;
}

function listFromEnv(name: string, fallback: number[]): number[] {
  const value = process.env[name];
  if (value === undefined || value === '') return fallback;
  const parsed = value.split(',').map((part) => Number(part.trim()));
  if (parsed.some((n) => !Number.isSafeInteger(n) || n <= 0)) {
    throw new Error(`${name} must be a comma-separated list of positive integers, got "${value}"`);
  }
  return parsed;
}

export function loadConfig(): PlannerBenchConfig {
  const config: PlannerBenchConfig = {
    data: loadDataConfig(),
    streams: intFromEnv('BENCH_STREAMS', 10_000),
    allStreams: intFromEnv('BENCH_ALL_STREAMS', 1_000),
    streamFlavors: intFromEnv('BENCH_STREAM_FLAVORS', 10),
    openConcurrency: intFromEnv('BENCH_OPEN_CONCURRENCY', 250),
    changes: intFromEnv('BENCH_CHANGES', 5),
    httpConnections: listFromEnv('BENCH_HTTP_CONNECTIONS', [32, 64]),
    httpSeconds: intFromEnv('BENCH_HTTP_SECONDS', 15),
    httpWarmupSeconds: intFromEnv('BENCH_HTTP_WARMUP_SECONDS', 5),
    httpRounds: intFromEnv('BENCH_HTTP_ROUNDS', 2),
    sqlSeconds: intFromEnv('BENCH_SQL_SECONDS', 10),
    logLevel: process.env.BENCH_LOG_LEVEL || 'warn',
  };
  if (config.allStreams > config.streams) throw new Error('BENCH_ALL_STREAMS cannot exceed BENCH_STREAMS');
  if (config.streamFlavors < 1 || config.streamFlavors > 80) {
    throw new Error('BENCH_STREAM_FLAVORS must be 1…80 (flavors with a label of their own and no minimum)');
  }
  return config;
}
