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
  const url = await databaseUrl();
  const db = await Database.connect(url, {
    staleAfterMs: config.pressureStaleAfterMs,
    listenUrl: config.databaseListenUrl,
    preparedStatements: config.databasePreparedStatements,
  }).catch(async (error: unknown) => {
    throw await withHint(error, url);
  });
  try {
    return await work(db);
  } catch (error) {
    throw await withHint(error, url);
  } finally {
    await db.close();
  }
}

/** SQLSTATEs of a statement that needs a table, function or column the database lacks. */
const MISSING_SCHEMA_OBJECT = new Set(['42P01', '42883', '42703']);
const MISSING_DATABASE = '3D000';

/**
 * A database that does not exist, or that nobody migrated (or an older release did), fails
 * with a driver stack; say what to do instead.
 */
async function withHint(error: unknown, url: string): Promise<unknown> {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (code !== MISSING_DATABASE && !MISSING_SCHEMA_OBJECT.has(code as string)) return error;
  const { redactUrl } = await import('@runner-planner/process');
  // MikroORM prefixes the driver's message with the SQL it ran: keep PostgreSQL's words only.
  const reason = String((error as Error).message)
    .split(' - ')
    .at(-1);
  const where = `the database at ${redactUrl(url)}`;
  return new CliError(
    code === MISSING_DATABASE
      ? `${reason} (${where}): check DATABASE_URL; runner-planner never creates a database, ` +
          'create it and run `runner-planner migrate`'
      : `${where} lacks the runner-planner schema or part of it (${reason}): ` +
          'run `runner-planner migrate` (the worker and planner also migrate at start)',
  );
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
