import { createTestDatabase } from '@runner-planner/testkit';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { Database, type DatabaseOptions, type Flavor, migrate, type NewJob } from '../src/index.js';
import { openTestSql, type TestSql } from '../src/testing.js';

export interface DatabaseFixture {
  db: Database;
  url: string;
  /** A plain connection for looking at rows the way an operator would. */
  sql: TestSql;
}

/** A migrated database of this test file's own, emptied before each test. */
export function useDatabase(label: string, options: DatabaseOptions = {}): DatabaseFixture {
  const fixture = {} as DatabaseFixture;
  let drop: () => Promise<void> = async () => {};
  beforeAll(async () => {
    const created = await createTestDatabase(label);
    drop = created.drop;
    fixture.url = created.url;
    await migrate(created.url);
    fixture.db = await Database.connect(created.url, options);
    fixture.sql = openTestSql(created.url);
  });
  beforeEach(async () => {
    await fixture.sql.reset();
  });
  afterAll(async () => {
    await fixture.db?.close();
    await fixture.sql?.end();
    await drop();
  });
  return fixture;
}

export function flavor(name: string, overrides: Partial<Flavor> = {}): Flavor {
  return {
    platform: 'github',
    name,
    labels: [],
    priority: 0,
    isDisabled: false,
    minimumPressure: 0,
    ...overrides,
  };
}

export function job(id: string, overrides: Partial<NewJob> = {}): NewJob {
  return {
    platform: 'github',
    id,
    labels: [],
    createdAt: new Date(),
    startedAt: null,
    completedAt: null,
    raw: {},
    ...overrides,
  };
}

export async function assignedFlavorOf(fixture: DatabaseFixture, id: string, platform = 'github') {
  const [found] = await fixture.db.listJobs(platform, { withId: id });
  if (found === undefined) throw new Error(`job ${platform}/${id} not stored`);
  return found.assignedFlavor;
}

/** Pressure recounted from the rows, ignoring the maintained counters; a released job's window starts at its release. */
export async function recountedPressures(fixture: DatabaseFixture, platform: string, staleAfterMs: number) {
  const { rows } = await fixture.sql.query<{ name: string; pressure: number }>(
    `SELECT f.name, GREATEST(f.minimum_pressure, count(j.pk))::int AS pressure
     FROM flavor f LEFT JOIN job j ON j.assigned_flavor = f.name AND j.completed_at IS NULL
       AND COALESCE(j.released_at, j.created_at) > now() - $2 * interval '1 millisecond'
     WHERE f.platform = $1 GROUP BY f.name, f.minimum_pressure`,
    [platform, staleAfterMs],
  );
  return Object.fromEntries(rows.map((row) => [row.name, row.pressure]));
}
