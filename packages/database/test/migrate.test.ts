import { createTestDatabase } from '@runner-planner/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Database, migrate } from '../src/index.js';

let url: string;
let drop: () => Promise<void>;
beforeAll(async () => {
  ({ url, drop } = await createTestDatabase('migrate'));
});
afterAll(async () => drop());

async function tables(): Promise<string[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query(
      "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename",
    );
    return rows.map((row) => row.tablename);
  } finally {
    await client.end();
  }
}

describe('migrate', () => {
  it('creates the schema once, even when several processes run it at the same time', async () => {
    await Promise.all([migrate(url), migrate(url), migrate(url)]);
    await migrate(url);
    expect(await tables()).toEqual(['auth_token', 'flavor', 'flavor_counter', 'job', 'mikro_orm_migrations']);
    const db = await Database.connect(url);
    try {
      await db.addFlavor({
        platform: 'github',
        name: 'f',
        labels: [],
        priority: 0,
        isDisabled: false,
        minimumPressure: 0,
      });
      await migrate(url);
      expect(await db.getFlavor('f')).toMatchObject({ name: 'f' });
    } finally {
      await db.close();
    }
  });

  it('stores job payloads lz4-compressed where the server supports it', async () => {
    await migrate(url);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query(`
        SELECT a.attcompression AS method,
               EXISTS (SELECT FROM pg_settings WHERE name = 'default_toast_compression'
                         AND 'lz4' = ANY (enumvals)) AS lz4_available
        FROM pg_attribute AS a WHERE a.attrelid = 'job'::regclass AND a.attname = 'raw'`);
      const [column] = rows;
      // 'l' is lz4; '' (the server's default, pglz) only on a build without lz4.
      expect(column.method).toBe(column.lz4_available ? 'l' : '');
    } finally {
      await client.end();
    }
  });

  it('fails with the driver’s message on an unreachable server', async () => {
    await expect(migrate('postgres://postgres@127.0.0.1:1/nothing')).rejects.toThrow(/ECONNREFUSED|connect/);
  });
});
