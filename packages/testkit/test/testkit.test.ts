import { existsSync } from 'node:fs';
import pg from 'pg';
import { afterAll, describe, expect, it, vi } from 'vitest';
import {
  createTestDatabase,
  type PostgresServer,
  resolvePostgresServer,
  SERVER_MODE_ENV,
  startEmbeddedPostgres,
  type TestDatabase,
  testAdminUrl,
  testDatabaseName,
} from '../src/index.js';

async function query<T extends pg.QueryResultRow>(url: string, sql: string, params: unknown[] = []) {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => {});
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

async function databaseExists(name: string): Promise<boolean> {
  const rows = await query(await testAdminUrl(), 'SELECT 1 FROM pg_database WHERE datname = $1', [name]);
  return rows.length === 1;
}

describe('createTestDatabase', () => {
  const created: TestDatabase[] = [];
  afterAll(async () => {
    await Promise.all(created.map((db) => db.drop()));
  });

  it('gives each call its own database, and both accept connections', async () => {
    const first = await createTestDatabase('testkit');
    const second = await createTestDatabase('testkit');
    created.push(first, second);

    expect(first.name).not.toBe(second.name);
    expect(first.url).not.toBe(second.url);
    for (const db of [first, second]) {
      const [row] = await query<{ name: string }>(db.url, 'SELECT current_database() AS name');
      expect(row?.name).toBe(db.name);
    }
  });

  it('keeps databases apart', async () => {
    const first = await createTestDatabase('isolation');
    const second = await createTestDatabase('isolation');
    created.push(first, second);

    await query(first.url, 'CREATE TABLE only_here (id int)');
    const tables = await query(second.url, "SELECT 1 FROM pg_tables WHERE tablename = 'only_here'");
    expect(tables).toHaveLength(0);
  });

  it('drop() removes the database even with a connection still open, and can be repeated', async () => {
    const db = await createTestDatabase('drop');
    expect(await databaseExists(db.name)).toBe(true);

    const leftOpen = new pg.Client({ connectionString: db.url });
    leftOpen.on('error', () => {});
    await leftOpen.connect();
    try {
      await db.drop();
      await db.drop();
    } finally {
      await leftOpen.end().catch(() => {});
    }

    expect(await databaseExists(db.name)).toBe(false);
  });

  it('names databases rp_test_<label>_<random> using only unquoted-safe characters', () => {
    expect(testDatabaseName('Job Store!')).toMatch(/^rp_test_job_store_[0-9a-f]{12}$/);
    expect(testDatabaseName()).toMatch(/^rp_test_[0-9a-f]{12}$/);
    expect(testDatabaseName('x'.repeat(200)).length).toBeLessThanOrEqual(63);
  });
});

describe('resolvePostgresServer', () => {
  it(`starts and stops an embedded server when ${SERVER_MODE_ENV}=embedded`, {
    timeout: 120_000,
  }, async () => {
    vi.stubEnv(SERVER_MODE_ENV, 'embedded');
    let server: PostgresServer | undefined;
    try {
      server = await resolvePostgresServer();
      expect(server.kind).toBe('embedded');

      const db = await createTestDatabase('embedded', { adminUrl: server.adminUrl });
      const [row] = await query<{ answer: number }>(db.url, 'SELECT 41 + 1 AS answer');
      expect(row?.answer).toBe(42);
      await db.drop();
    } finally {
      vi.unstubAllEnvs();
      await server?.stop();
    }

    await expect(query(server.adminUrl, 'SELECT 1')).rejects.toThrow();
  });
});

describe('startEmbeddedPostgres', () => {
  it('removes its data directory when stopped', { timeout: 120_000 }, async () => {
    const embedded = await startEmbeddedPostgres();
    try {
      expect(existsSync(embedded.dataDir)).toBe(true);
      expect(await query(embedded.url, 'SELECT 1')).toHaveLength(1);
    } finally {
      await embedded.stop();
    }

    expect(existsSync(embedded.dataDir)).toBe(false);
    await expect(query(embedded.url, 'SELECT 1')).rejects.toThrow();
  });
});
