import { loadConfig } from '@runner-planner/config';
import { Database } from '@runner-planner/database';
import { buildPlanner } from '@runner-planner/planner';
import { createTestDatabase, type TestDatabase } from '@runner-planner/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// The original planner's schema and writers, shared with the database package's import tests.
import {
  createOriginalPlanner,
  type OriginalPlanner,
  workflowJobPayload,
} from '../../../packages/database/test/original-planner.js';
import { runCli } from './support.js';
import { useCliWorld } from './world.js';

const world = useCliWorld('import_original');
let originalDatabase: TestDatabase;
/** A new runner-planner database, never migrated: an import that cannot start must leave it so. */
let untouchedDatabase: TestDatabase;
let original: OriginalPlanner;
/** As the original's `POST /api/v1/auth/token/charm` handed it to the charm. */
let charmToken: string;

beforeAll(async () => {
  [originalDatabase, untouchedDatabase] = await Promise.all([
    createTestDatabase('original_planner_cli'),
    createTestDatabase('import_untouched'),
  ]);
  original = await createOriginalPlanner(originalDatabase.url);
  await original.addFlavor({ name: 'small', labels: ['x64', 'small'], priority: 1 });
  charmToken = await original.createToken('charm');
  const createdAt = new Date(Date.now() - 3_600_000);
  const labels = ['self-hosted', 'x64', 'small'];
  await original.addJob({
    id: '201',
    labels,
    createdAt,
    payloads: { queued: workflowJobPayload('queued', { id: 201, labels, createdAt }) },
  });
  await original.addJob({ id: '202', labels, createdAt, startedAt: createdAt, completedAt: createdAt });
});

afterAll(async () => {
  await original?.close();
  await Promise.all([originalDatabase?.drop(), untouchedDatabase?.drop()]);
});

const ADMIN_TOKEN = 'planner_v0_importoriginaltest01';

/** What a client of the original sees when it asks our planner for pressure with its old token. */
async function pressureWithToken(token: string) {
  const config = loadConfig({ DATABASE_URL: world.database.url, ADMIN_TOKEN, LOG_LEVEL: 'silent' });
  const db = await Database.connect(world.database.url);
  const app = buildPlanner({ config, db, dashboard: false });
  try {
    return await app.inject({
      method: 'GET',
      url: '/api/v1/flavors/small/pressure',
      headers: { authorization: `Bearer ${token}` },
    });
  } finally {
    await app.close();
    await db.close();
  }
}

describe('runner-planner import-original', () => {
  it('imports once, the original token works on our planner, and a second run changes nothing', async () => {
    const first = await world.cli('import-original', '--from', original.url);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toBe(
      [
        `from ${original.url} (schema version 2)`,
        'flavors  1 imported, 0 already here, 0 skipped',
        'tokens   1 imported, 0 already here, 0 skipped',
        'jobs     1 imported, 0 already here, 0 skipped; 1 completed job left behind',
        'done; running it again changes nothing',
        '',
      ].join('\n'),
    );

    const accepted = await pressureWithToken(charmToken);
    expect(accepted.statusCode).toBe(200);
    expect(accepted.json()).toEqual({ small: 1 });
    const refused = await pressureWithToken(Buffer.alloc(32, 7).toString('base64url'));
    expect(refused.statusCode).toBe(401);

    const second = await world.cli('import-original', '--from', original.url, '--json');
    expect(second.code).toBe(0);
    expect(JSON.parse(second.stdout)).toEqual({
      sourceVersion: 2,
      flavors: { imported: 0, present: 1, skipped: [] },
      tokens: { imported: 0, present: 1, skipped: [] },
      jobs: { imported: 0, present: 1, skipped: [] },
      completedJobsLeft: 1,
    });
  });

  // Each refusal's message is checked in packages/database/test/import-original.test.ts.
  it('says in one line why it cannot import, with exit code 1, before touching our database', async () => {
    const unreachable = await runCli(
      ['import-original', '--from', 'postgres://planner:s3cret@127.0.0.1:1/planner'],
      { env: { ...world.env, DATABASE_URL: untouchedDatabase.url }, cwd: world.cwd },
    );
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(
      /^runner-planner: cannot connect to the original planner's database at postgres:\/\/planner:\*\*\*@127\.0\.0\.1:1\/planner: .+\n$/,
    );
    const tables = new pg.Client({ connectionString: untouchedDatabase.url });
    await tables.connect();
    try {
      const { rows } = await tables.query("SELECT tablename FROM pg_tables WHERE schemaname = 'public'");
      expect(rows).toEqual([]);
    } finally {
      await tables.end();
    }
  });
});
