/**
 * `@runner-planner/database/testing`: a plain connection pool beside the ORM, for tests and
 * benchmarks only. It keeps what they need of the schema (which tables to empty, which
 * connection is the pressure listener, the planner's pressure statement) in this package, and
 * `pg` out of every other one; so are the scratch databases and the data set of the
 * benchmarks, and the original planner's database the import tests start from. Production code
 * uses `Database`.
 */
import pg from 'pg';
import { PRESSURE_LISTENER_APPLICATION } from './pressure-channel.js';
import { SELECT_ALL_PRESSURES, SELECT_PRESSURES } from './sql.js';

export { type BenchDataSize, benchFlavors, loadDataAt } from './testing-bench-data.js';
export {
  createOriginalPlanner,
  type OriginalFlavor,
  type OriginalJob,
  type OriginalPlanner,
  workflowJobPayload,
} from './testing-original-planner.js';
export { createScratchDatabase, type ScratchDatabase, serverVersion } from './testing-scratch.js';
export { formatWaits, sampleWaits, type WaitSamples } from './testing-waits.js';

/** What a query returns: its rows, and how many rows it read or changed. */
export interface SqlResult<R> {
  rows: R[];
  rowCount: number;
}

export interface TestSql {
  /**
   * Raw SQL, for what a test does that the app never does: seed thousands of rows at once, age
   * a job's events, read `pg_catalog`. Rows are untyped unless the caller names their shape.
   */
  // biome-ignore lint/suspicious/noExplicitAny: untyped by default like pg's rows, so a test may read rows[0].n
  query<R = any>(text: string, values?: readonly unknown[]): Promise<SqlResult<R>>;
  /** Empties every table of the schema (the migrations' own record stays): a fresh store for the next test. */
  reset(): Promise<void>;
  /** Open LISTEN connections of the pressure channel (`subscribePressureChanges`) on this database. */
  listenerConnections(): Promise<number>;
  /** Ends the pressure listeners' connections from the server side, as a failover or restart would. */
  terminateListeners(): Promise<void>;
  /**
   * The planner's pressure statement, run on this bare pool instead of the ORM's: the baseline a
   * benchmark compares `Database.getPressures` with. `names` null → every flavor of the platform.
   */
  selectPressures(
    platform: string,
    names: readonly string[] | null,
    staleAfterMs: number,
  ): Promise<Array<{ name: string; pressure: number }>>;
  end(): Promise<void>;
}

export interface TestSqlOptions {
  /** Most connections; default 2. */
  max?: number;
  /** Shown in `pg_stat_activity`, so a benchmark can leave its own connection out of its counts. */
  applicationName?: string;
}

/** Every table of the schema but the migrations' record: TRUNCATE empties them all at once, whatever references what. */
const SCHEMA_TABLES_SQL = `
  SELECT tablename FROM pg_tables
  WHERE schemaname = current_schema() AND tablename <> 'mikro_orm_migrations'
  ORDER BY tablename`;

const LISTENERS = `
  SELECT pid FROM pg_stat_activity
  WHERE datname = current_database() AND application_name = $1`;

/** A pool on `url`, a migrated runner-planner database. */
export function openTestSql(url: string, options: TestSqlOptions = {}): TestSql {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.max ?? 2,
    ...(options.applicationName === undefined ? {} : { application_name: options.applicationName }),
  });
  let truncate: string | undefined;
  const query = async <R>(text: string, values?: readonly unknown[]): Promise<SqlResult<R>> => {
    const result = await pool.query(text, values === undefined ? undefined : [...values]);
    return { rows: result.rows as R[], rowCount: result.rowCount ?? 0 };
  };
  return {
    query,
    async reset() {
      if (truncate === undefined) {
        const { rows } = await query<{ tablename: string }>(SCHEMA_TABLES_SQL);
        truncate = `TRUNCATE ${rows.map((row) => pg.escapeIdentifier(row.tablename)).join(', ')}`;
      }
      await query(truncate);
    },
    async listenerConnections() {
      return (await query(LISTENERS, [PRESSURE_LISTENER_APPLICATION])).rowCount;
    },
    async terminateListeners() {
      await query(`SELECT pg_terminate_backend(pid) FROM (${LISTENERS}) AS listener`, [
        PRESSURE_LISTENER_APPLICATION,
      ]);
    },
    async selectPressures(platform, names, staleAfterMs) {
      const result = await pool.query<{ name: string; pressure: number }>({
        ...(names === null ? SELECT_ALL_PRESSURES : SELECT_PRESSURES),
        values: [platform, names === null ? null : JSON.stringify(names), staleAfterMs],
      });
      return result.rows;
    },
    end: () => pool.end(),
  };
}
