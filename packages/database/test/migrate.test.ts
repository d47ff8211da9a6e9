import { createTestDatabase } from '@runner-planner/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Database, migrate } from '../src/index.js';
import { migratorOptions } from '../src/migrate.js';
import { openOrm } from '../src/orm.js';

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

  it('brings rows of before the job lifecycle under its rules, with pressure following', async () => {
    const { url: oldUrl, drop: dropOld } = await createTestDatabase('migrate_lifecycle');
    const orm = await openOrm(oldUrl, { poolSize: 1, migrator: await migratorOptions() });
    const client = new pg.Client({ connectionString: oldUrl });
    try {
      await orm.getMigrator().up({ to: 'Migration20261128100000_raw_compression' });
      await client.connect();
      // As the previous version recorded them: every GitLab job assigned on its first event.
      await client.query(`
        INSERT INTO flavor (name, platform, labels) VALUES ('docker', 'gitlab', '{docker}'), ('bare', 'gitlab', '{}');
        INSERT INTO job (platform, id, labels, created_at, started_at, raw, assigned_flavor) VALUES
          ('gitlab', '1', '{docker}', now(), NULL, '{"created": {}}', 'docker'),
          ('gitlab', '2', '{docker}', now(), NULL, '{"created": {}, "pending": {}}', 'docker'),
          ('gitlab', '3', '{docker}', now(), now(), '{"running": {}}', 'docker'),
          ('gitlab', '4', '{}', now(), NULL, '{"pending": {}}', 'docker');`);
      const before = await client.query('SELECT flavor, incomplete_jobs FROM flavor_counter ORDER BY 1');
      expect(before.rows).toEqual([
        { flavor: 'bare', incomplete_jobs: '0' },
        { flavor: 'docker', incomplete_jobs: '4' },
      ]);

      await migrate(oldUrl);
      const db = await Database.connect(oldUrl);
      try {
        const jobs = await db.listJobs('gitlab');
        expect(jobs.map((job) => [job.id, job.held, job.assignedFlavor])).toEqual([
          ['1', true, null],
          ['2', false, 'docker'],
          ['3', false, 'docker'],
          ['4', false, 'bare'],
        ]);
        expect(await db.getFlavor('docker')).toMatchObject({ runUntagged: false });
        expect(await db.getFlavor('bare')).toMatchObject({ runUntagged: true });
        expect(await db.getPressures('gitlab')).toEqual({ docker: 2, bare: 1 });
      } finally {
        await db.close();
      }
    } finally {
      await client.end();
      await orm.close(true);
      await dropOld();
    }
  });

  it('never creates a database: a mistyped name fails instead of starting an empty system', async () => {
    const missing = new URL(url);
    missing.pathname = `${missing.pathname}_typo`;
    const name = missing.pathname.slice(1);
    await expect(migrate(missing.href)).rejects.toThrow(`database "${name}" does not exist`);
    await expect(Database.connect(missing.href)).rejects.toThrow(`database "${name}" does not exist`);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
      expect(rows).toEqual([]);
    } finally {
      await client.end();
    }
  });

  it('fails with the driver’s message on an unreachable server', async () => {
    await expect(migrate('postgres://postgres@127.0.0.1:1/nothing')).rejects.toThrow(/ECONNREFUSED|connect/);
  });
});
