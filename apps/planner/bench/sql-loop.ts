// The pure-SQL figure: the planner's pressure statement, per platform as the route issues it,
// through a bare pg pool (no ORM) from `concurrency` callers in a loop; no HTTP.

import { type Latency, latency } from '@runner-planner/bench-kit';
import { PLATFORMS } from '@runner-planner/core';
import { openTestSql, type TestSql } from '@runner-planner/database/testing';

export interface SqlLoopResult {
  concurrency: number;
  poolSize: number;
  seconds: number;
  /** One operation = one statement per platform, in parallel (what one `_` request runs). */
  operations: number;
  operationsPerSecond: number;
  queriesPerSecond: number;
  latency: Latency;
}

export interface SqlLoopOptions {
  url: string;
  poolSize: number;
  concurrency: number;
  seconds: number;
  warmupSeconds: number;
  staleAfterMs: number;
}

async function loop(
  pool: TestSql,
  options: SqlLoopOptions,
  seconds: number,
  samples?: number[],
): Promise<number> {
  const end = performance.now() + seconds * 1000;
  let operations = 0;
  const caller = async () => {
    while (performance.now() < end) {
      const started = performance.now();
      await Promise.all(
        PLATFORMS.map((platform) => pool.selectPressures(platform, null, options.staleAfterMs)),
      );
      samples?.push(performance.now() - started);
      operations += 1;
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, caller));
  return operations;
}

export async function runSqlLoop(options: SqlLoopOptions): Promise<SqlLoopResult> {
  const pool = openTestSql(options.url, { max: options.poolSize });
  try {
    await loop(pool, options, options.warmupSeconds);
    const samples: number[] = [];
    const started = performance.now();
    const operations = await loop(pool, options, options.seconds, samples);
    const seconds = (performance.now() - started) / 1000;
    return {
      concurrency: options.concurrency,
      poolSize: options.poolSize,
      seconds,
      operations,
      operationsPerSecond: operations / seconds,
      queriesPerSecond: (operations * PLATFORMS.length) / seconds,
      latency: latency(samples),
    };
  } finally {
    await pool.end();
  }
}
