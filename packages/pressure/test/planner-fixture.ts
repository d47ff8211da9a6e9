import { type Config, loadConfig } from '@runner-planner/config';
import { Database, migrate } from '@runner-planner/database';
import { openTestSql, type TestSql } from '@runner-planner/database/testing';
import { type RunningPlanner, startPlanner } from '@runner-planner/planner';
import { createTestDatabase } from '@runner-planner/testkit';
import { afterAll, beforeAll, beforeEach } from 'vitest';

export const ADMIN_TOKEN = 'planner_v0_pressureTests_012345';

export interface PlannerFixture {
  planner: RunningPlanner;
  config: Config;
  /** Records jobs as runner-planner's worker would (jobs cannot be made through the API). */
  writer: Database;
  sql: TestSql;
  /** Starts a planner on this port (0: any); the fixture closes it after the file. */
  start(port?: number): Promise<RunningPlanner>;
}

/**
 * Closes a planner, cutting whatever connections are still open after a grace period. After a
 * fetch is aborted mid-stream, undici opens a spare keep-alive connection that sends no request;
 * Node's `server.close()` does not count it as idle, so a graceful close would otherwise wait
 * for the server's headers timeout (about a minute).
 */
export async function closePlanner(planner: RunningPlanner): Promise<void> {
  const closing = planner.close();
  const timer = setTimeout(() => planner.app.server.closeAllConnections(), 500);
  try {
    await closing;
  } finally {
    clearTimeout(timer);
  }
}

/** A real planner on its own database, with 1-second heartbeats, restarted per file. */
export function usePlanner(label: string): PlannerFixture {
  const fixture = {} as PlannerFixture;
  const started: RunningPlanner[] = [];
  let drop: () => Promise<void> = async () => {};
  beforeAll(async () => {
    const created = await createTestDatabase(label);
    drop = created.drop;
    await migrate(created.url);
    fixture.config = loadConfig({
      DATABASE_URL: created.url,
      ADMIN_TOKEN,
      PRESSURE_HEARTBEAT_SECONDS: '1',
      LOG_LEVEL: 'silent',
    });
    fixture.start = async (port = 0) => {
      const planner = await startPlanner(
        { ...fixture.config, plannerPort: port },
        { host: '127.0.0.1', dashboard: false, logger: false },
      );
      started.push(planner);
      return planner;
    };
    fixture.writer = await Database.connect(created.url);
    fixture.sql = openTestSql(created.url);
    fixture.planner = await fixture.start();
  });
  beforeEach(async () => {
    await fixture.sql.reset();
  });
  afterAll(async () => {
    await Promise.all(started.map(closePlanner));
    await fixture.writer?.close();
    await fixture.sql?.end();
    await drop();
  });
  return fixture;
}
