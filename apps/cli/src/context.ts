// Types only at the top: the program imports this file while it is built, and the packages
// behind these (zod, MikroORM, BullMQ, ioredis) are loaded by the functions that need them.
import type { Database } from '@runner-planner/database';
import { readRuntime } from './data-dir.js';
import { CliError } from './errors.js';

export { CliError };

const set = (value: string | undefined) => (value === undefined || value === '' ? undefined : value);

/** DATABASE_URL, else the database of a `runner-planner start` running in this directory. */
export async function databaseUrl(): Promise<string> {
  const url = set(process.env.DATABASE_URL) ?? (await readRuntime())?.databaseUrl;
  if (url === undefined) {
    throw new CliError(
      'DATABASE_URL is not set and no runner-planner start is running in this directory (.data/runtime.json)',
    );
  }
  return url;
}

export async function queueSettings(): Promise<{ redisUrl: string; prefix: string }> {
  const [runtime, { DEFAULT_QUEUE_PREFIX }, { LOCAL_REDIS_URL }] = await Promise.all([
    readRuntime(),
    import('@runner-planner/queue'),
    import('./redis.js'),
  ]);
  return {
    redisUrl: set(process.env.REDIS_URL) ?? runtime?.redisUrl ?? LOCAL_REDIS_URL,
    prefix: set(process.env.QUEUE_PREFIX) ?? runtime?.queuePrefix ?? DEFAULT_QUEUE_PREFIX,
  };
}

/**
 * The database, counting pressure with `PRESSURE_STALE_AFTER` like the apps do: `pressure` and
 * `jobs why` must agree with what the planner answers.
 */
export async function withDatabase<T>(work: (db: Database) => Promise<T>): Promise<T> {
  const [{ loadConfig }, { Database }] = await Promise.all([
    import('@runner-planner/config'),
    import('@runner-planner/database'),
  ]);
  const config = loadConfig({
    PRESSURE_STALE_AFTER: process.env.PRESSURE_STALE_AFTER,
    DATABASE_LISTEN_URL: process.env.DATABASE_LISTEN_URL,
    DATABASE_PREPARED_STATEMENTS: process.env.DATABASE_PREPARED_STATEMENTS,
  });
  const db = await Database.connect(await databaseUrl(), {
    staleAfterMs: config.pressureStaleAfterMs,
    listenUrl: config.databaseListenUrl,
    preparedStatements: config.databasePreparedStatements,
  });
  try {
    return await work(db);
  } finally {
    await db.close();
  }
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Fixed-width columns for humans. */
export function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join('  ')
      .trimEnd();
  process.stdout.write(`${[line(header), ...rows.map(line)].join('\n')}\n`);
}
