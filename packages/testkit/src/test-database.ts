import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { ADMIN_URL_KEY } from './provided-context.js';

export interface TestDatabase {
  /** Connection URL of the new database (same server and credentials as the admin URL). */
  url: string;
  name: string;
  /** Disconnects whoever is still connected and drops the database. Safe to call twice. */
  drop(): Promise<void>;
}

export interface CreateTestDatabaseOptions {
  /** Server to create it on; defaults to the one the database global setup provided. */
  adminUrl?: string;
}

const NAME_PREFIX = 'rp_test_';
/** How long a drop waits for sessions that are closing before it terminates them. */
const CLOSING_SESSIONS_WAIT_MS = 3_000;
const MAX_LABEL_LENGTH = 30;

/** Creates a fresh, uniquely named database for one test file (call it in `beforeAll`). */
export async function createTestDatabase(
  label?: string,
  options: CreateTestDatabaseOptions = {},
): Promise<TestDatabase> {
  const adminUrl = options.adminUrl ?? (await testAdminUrl());
  const name = testDatabaseName(label);
  await withClient(adminUrl, (client) => client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`));

  let dropped: Promise<void> | undefined;
  return {
    url: withDatabase(adminUrl, name),
    name,
    drop: () => {
      dropped ??= withClient(adminUrl, async (client) => {
        // pg.Pool#end() resolves before its clients' connections have closed: terminating one
        // then makes the server send it a FATAL that the ended pool re-emits as an unhandled
        // 'error' in whichever test file runs next. So closing sessions get a moment first.
        await waitForSessionsToClose(client, name);
        // FORCE (PostgreSQL 13+) terminates sessions a test left open, e.g. a pool it never closed.
        await client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(name)} WITH (FORCE)`);
      });
      return dropped;
    },
  };
}

async function waitForSessionsToClose(client: pg.Client, database: string): Promise<void> {
  const deadline = Date.now() + CLOSING_SESSIONS_WAIT_MS;
  while (Date.now() < deadline) {
    const { rows } = await client.query<{ sessions: number }>(
      'SELECT count(*)::int AS sessions FROM pg_stat_activity WHERE datname = $1',
      [database],
    );
    if (rows[0]?.sessions === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** The admin URL the database global setup provided to this test run. */
export async function testAdminUrl(): Promise<string> {
  // Imported lazily so that importing the testkit outside a vitest worker (a global setup, a
  // script) does not touch vitest's worker-only runtime.
  const { inject } = await import('vitest');
  const url = inject(ADMIN_URL_KEY);
  if (!url) {
    throw new Error(
      'No test PostgreSQL server was provided: enable the database global setup ' +
        "(packageTestConfig(name, { database: true }) or globalSetup '@runner-planner/testkit/global-setup').",
    );
  }
  return url;
}

/** `rp_test_<label>_<random>`, reduced to characters that need no quoting and within 63 bytes. */
export function testDatabaseName(label?: string): string {
  const cleaned = (label ?? '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, MAX_LABEL_LENGTH);
  const random = randomBytes(6).toString('hex');
  return cleaned ? `${NAME_PREFIX}${cleaned}_${random}` : `${NAME_PREFIX}${random}`;
}

function withDatabase(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

async function withClient<T>(url: string, use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}
