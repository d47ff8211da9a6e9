import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '@runner-planner/config';
import { Database } from '@runner-planner/database';
// The original planner's schema and writers, shared with the database package's import tests.
import {
  createOriginalPlanner,
  type OriginalPlanner,
  openTestSql,
  workflowJobPayload,
} from '@runner-planner/database/testing';
import { buildPlanner } from '@runner-planner/planner';
import { createTestDatabase, type TestDatabase } from '@runner-planner/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, cleanEnv, runCli } from './support.js';

/** runner-planner's database, created empty and never migrated: the import comes before any start. */
let ours: TestDatabase;
let originalDatabase: TestDatabase;
let original: OriginalPlanner;
/** As the original's `POST /api/v1/auth/token/charm` handed it to the charm. */
let charmToken: string;
let cwd: string;

const cli = (...args: string[]) => runCli(args, { env: cleanEnv({ DATABASE_URL: ours.url }), cwd });

beforeAll(async () => {
  assertBuilt();
  [ours, originalDatabase] = await Promise.all([
    createTestDatabase('import_original_cli'),
    createTestDatabase('original_planner_cli'),
  ]);
  cwd = await mkdtemp(join(tmpdir(), 'rp-import-original-'));
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
  await Promise.all([originalDatabase?.drop(), ours?.drop()]);
  if (cwd) await rm(cwd, { recursive: true, force: true });
});

const ADMIN_TOKEN = 'planner_v0_importoriginaltest01';

/** What a client of the original sees when it asks our planner for pressure with its old token. */
async function pressureWithToken(token: string) {
  const config = loadConfig({ DATABASE_URL: ours.url, ADMIN_TOKEN, LOG_LEVEL: 'silent' });
  const db = await Database.connect(ours.url);
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

async function tablesOfOurs(): Promise<string[]> {
  const sql = openTestSql(ours.url, { max: 1 });
  try {
    const { rows } = await sql.query<{ tablename: string }>(
      "SELECT tablename FROM pg_tables WHERE schemaname = 'public'",
    );
    return rows.map((row) => row.tablename);
  } finally {
    await sql.end();
  }
}

// Steps in order, on one database. Each refusal's message is checked in
// packages/database/test/import-original.test.ts; here what the user sees of one.
describe('runner-planner import-original', () => {
  it('refuses an unreachable original in one line, exit 1, before touching our database', async () => {
    const unreachable = await cli(
      'import-original',
      '--from',
      'postgres://planner:s3cret@127.0.0.1:1/planner',
    );
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(
      /^runner-planner: cannot connect to the original planner's database at postgres:\/\/planner:\*\*\*@127\.0\.0\.1:1\/planner: .+\n$/,
    );
    expect(await tablesOfOurs()).toEqual([]);
  });

  it('imports into a new database, the original token works on our planner, a second run changes nothing', async () => {
    const first = await cli('import-original', '--from', original.url);
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

    const second = await cli('import-original', '--from', original.url, '--json');
    expect(second.code).toBe(0);
    expect(JSON.parse(second.stdout)).toEqual({
      sourceVersion: 2,
      flavors: { imported: 0, present: 1, skipped: [] },
      tokens: { imported: 0, present: 1, skipped: [] },
      jobs: { imported: 0, present: 1, skipped: [] },
      completedJobsLeft: 1,
    });
  });
});
