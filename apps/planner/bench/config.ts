import {
  adminUrlFromEnv,
  type DataSize,
  dataSizeFromEnv,
  intFromEnv,
  listFromEnv,
} from '@runner-planner/bench-kit';

/** Sizes of the planner benchmark; each can be lowered through the environment for a quick run. */
export interface PlannerBenchConfig {
  /** Admin URL of the server the scratch database goes on (BENCH_DATABASE_URL). */
  adminUrl: string;
  /** Jobs loaded, as the database benchmark reads them (BENCH_JOBS, BENCH_INCOMPLETE_JOBS). */
  data: DataSize;
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

export function loadConfig(): PlannerBenchConfig {
  const config: PlannerBenchConfig = {
    adminUrl: adminUrlFromEnv(),
    data: dataSizeFromEnv(),
    streams: intFromEnv('BENCH_STREAMS', 10_000, 0),
    allStreams: intFromEnv('BENCH_ALL_STREAMS', 1_000, 0),
    streamFlavors: intFromEnv('BENCH_STREAM_FLAVORS', 10, 0),
    openConcurrency: intFromEnv('BENCH_OPEN_CONCURRENCY', 250, 0),
    changes: intFromEnv('BENCH_CHANGES', 5, 0),
    httpConnections: listFromEnv('BENCH_HTTP_CONNECTIONS', [32, 64]),
    httpSeconds: intFromEnv('BENCH_HTTP_SECONDS', 15, 0),
    httpWarmupSeconds: intFromEnv('BENCH_HTTP_WARMUP_SECONDS', 5, 0),
    httpRounds: intFromEnv('BENCH_HTTP_ROUNDS', 2, 0),
    sqlSeconds: intFromEnv('BENCH_SQL_SECONDS', 10, 0),
    logLevel: process.env.BENCH_LOG_LEVEL || 'warn',
  };
  if (config.allStreams > config.streams) throw new Error('BENCH_ALL_STREAMS cannot exceed BENCH_STREAMS');
  if (config.streamFlavors < 1 || config.streamFlavors > 80) {
    throw new Error('BENCH_STREAM_FLAVORS must be 1…80 (flavors with a label of their own and no minimum)');
  }
  return config;
}
