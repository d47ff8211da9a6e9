import { createHash } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '@runner-planner/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExistError, ImportOriginalError, type ImportOriginalSummary, importOriginal } from '../src/index.js';
import { createOriginalPlanner, type OriginalPlanner, workflowJobPayload } from '../src/testing.js';
import { flavor, job, recountedPressures, useDatabase } from './support.js';

const fixture = useDatabase('import_original');
let originalDatabase: TestDatabase;
/** Reachable, but made by nobody's migrations. */
let emptyDatabase: TestDatabase;
let original: OriginalPlanner;
let charmToken: string;
let ciToken: string;

const HOUR = 3_600_000;
const STALE_AFTER_MS = 5 * 24 * HOUR;
const createdAt = new Date(Date.now() - HOUR);
const startedAt = new Date(Date.now() - HOUR / 2);

/** What the original holds: every kind of row the import must carry over, leave or skip. */
async function fillOriginal(): Promise<void> {
  await original.addFlavor({ name: 'small', labels: ['X64', 'Small'], priority: 1, minimumPressure: 1 });
  await original.addFlavor({ name: 'large', labels: ['x64', 'large'], priority: 5 });
  await original.addFlavor({ name: 'old', labels: ['arm64'], isDisabled: true, minimumPressure: 4 });
  await original.addFlavor({ name: 'a/b', labels: ['x64'] });
  charmToken = await original.createToken('charm');
  ciToken = await original.createToken('ci');
  // Its first versions stored the token as given.
  await original.sql.query("INSERT INTO auth (name, token) VALUES ('legacy', 'plain-text-secret')");

  const queued = (id: number, labels: string[], status?: string) =>
    original.addJob({
      id: String(id),
      labels,
      createdAt,
      payloads: {
        queued: workflowJobPayload('queued', { id, labels, createdAt, ...(status ? { status } : {}) }),
      },
    });
  await queued(101, ['self-hosted', 'Linux', 'X64', 'small']);
  const runningLabels = ['self-hosted', 'x64', 'large'];
  await original.addJob({
    id: '102',
    labels: runningLabels,
    createdAt,
    startedAt,
    payloads: {
      queued: workflowJobPayload('queued', { id: 102, labels: runningLabels, createdAt }),
      in_progress: workflowJobPayload('in_progress', {
        id: 102,
        labels: runningLabels,
        createdAt,
        startedAt,
      }),
    },
  });
  await queued(103, ['self-hosted', 'x64']);
  await original.addJob({
    id: '104',
    labels: ['self-hosted', 'x64'],
    createdAt,
    startedAt,
    completedAt: startedAt,
  });
  await queued(105, ['ubuntu-latest']);
  // Held by a deployment protection rule: GitHub sends `queued` with the job still `waiting`.
  await queued(106, ['self-hosted', 'x64'], 'waiting');
  await queued(107, ['self-hosted', 'gpu']);
  // No payload at all: the stored columns are all there is.
  await original.addJob({ id: '108', labels: ['x64', 'small'], createdAt });
  // Enough rows for keys past 9, read in pages of 2 (`run`): pages follow the key, not its text.
  for (const id of [109, 110, 111, 112]) await queued(id, ['self-hosted', 'x64', 'small']);
}

beforeAll(async () => {
  [originalDatabase, emptyDatabase] = await Promise.all([
    createTestDatabase('original_planner'),
    createTestDatabase('not_original'),
  ]);
  original = await createOriginalPlanner(originalDatabase.url);
  await fillOriginal();
});

afterAll(async () => {
  await original?.close();
  await Promise.all([originalDatabase?.drop(), emptyDatabase?.drop()]);
});

const run = (from = original.url) => importOriginal({ from, db: fixture.db, jobBatchSize: 2 });

/** Every row of ours, to show a run wrote nothing. */
async function snapshot(): Promise<unknown> {
  const tables = ['flavor', 'flavor_counter', 'auth_token', 'job'];
  const rows = await Promise.all(
    tables.map(async (table) => (await fixture.sql.query(`SELECT * FROM ${table} ORDER BY 1`)).rows),
  );
  return Object.fromEntries(tables.map((table, index) => [table, rows[index]]));
}

const tally = (summary: ImportOriginalSummary) => ({
  flavors: { ...summary.flavors, skipped: summary.flavors.skipped.map((s) => s.item) },
  tokens: { ...summary.tokens, skipped: summary.tokens.skipped.map((s) => s.item) },
  jobs: { ...summary.jobs, skipped: summary.jobs.skipped.map((s) => s.item) },
});

async function jobsById() {
  const jobs = await fixture.db.listJobs('github', { limit: 1000 });
  return new Map(jobs.map((stored) => [stored.id, stored]));
}

describe('import-original', () => {
  it('copies flavors, tokens and incomplete jobs, then finds everything present on a second run', async () => {
    const first = await run();
    expect(first.sourceVersion).toBe(2);
    expect(first.completedJobsLeft).toBe(1);
    expect(tally(first)).toEqual({
      flavors: { imported: 3, present: 0, skipped: ['a/b'] },
      tokens: { imported: 2, present: 0, skipped: ['legacy'] },
      jobs: { imported: 10, present: 0, skipped: ['github/105'] },
    });
    expect(first.flavors.skipped[0]?.reason).toContain('name must not contain "/"');
    expect(first.tokens.skipped[0]?.reason).toContain('runner-planner token create legacy');
    expect(first.jobs.skipped[0]?.reason).toContain('not for a self-hosted runner');

    const small = await fixture.db.getFlavor('small');
    expect(new Set(small.labels)).toEqual(new Set(['x64', 'small']));
    expect(small).toMatchObject({ platform: 'github', priority: 1, minimumPressure: 1, isDisabled: false });
    expect(await fixture.db.getFlavor('old')).toMatchObject({ isDisabled: true, minimumPressure: 4 });

    const jobs = await jobsById();
    expect(Object.fromEntries([...jobs].map(([id, stored]) => [id, stored.assignedFlavor]))).toEqual({
      '101': 'small',
      '102': 'large',
      '103': 'large',
      '106': null,
      '107': null,
      '108': 'small',
      '109': 'small',
      '110': 'small',
      '111': 'small',
      '112': 'small',
    });
    for (const stored of jobs.values()) expect(stored.completedAt).toBeNull();
    expect(jobs.get('106')?.held).toBe(true);
    expect(jobs.get('102')?.startedAt).toEqual(startedAt);
    expect(jobs.get('101')?.labels).toEqual(expect.arrayContaining(['x64', 'small']));
    expect(jobs.get('101')?.labels).toHaveLength(2);
    // Payloads are objects again: reconciliation reads the repository from them.
    expect(jobs.get('102')?.raw).toMatchObject({
      queued: { repository: { full_name: 'acme/widgets' } },
      in_progress: { workflow_job: { id: 102 } },
    });
    expect(jobs.get('108')?.raw).toEqual({});

    // The maintained counters agree with a recount: imported jobs count as if their webhooks came.
    const pressures = await fixture.db.getPressures('github');
    expect(pressures).toEqual({ small: 6, large: 2, old: 4 });
    expect(pressures).toEqual(await recountedPressures(fixture, 'github', STALE_AFTER_MS));

    // The original's tokens, as its clients hold them, are accepted here.
    const bytes = (token: string) => new Uint8Array(Buffer.from(token, 'base64url'));
    expect(await fixture.db.verifyAuthToken(bytes(charmToken))).toBe('charm');
    expect(await fixture.db.verifyAuthToken(bytes(ciToken))).toBe('ci');

    const before = await snapshot();
    const second = await run();
    expect(tally(second)).toEqual({
      flavors: { imported: 0, present: 3, skipped: ['a/b'] },
      tokens: { imported: 0, present: 2, skipped: ['legacy'] },
      jobs: { imported: 0, present: 10, skipped: ['github/105'] },
    });
    expect(await snapshot()).toEqual(before);
  });

  it('completes an earlier run that stopped part-way, and assigns jobs already waiting here', async () => {
    // As a first run leaves it after some writes; the labels given in another order are the same set.
    await fixture.db.addFlavor(
      flavor('small', { labels: ['small', 'x64'], priority: 1, minimumPressure: 1 }),
    );
    const hash = (await original.sql.query<{ token: string }>("SELECT token FROM auth WHERE name = 'charm'"))
      .rows[0]?.token;
    await fixture.db.addAuthTokenHash('charm', Buffer.from(hash ?? '', 'hex'));
    await fixture.db.addJob(job('101', { labels: ['x64', 'small'], createdAt }));
    // A webhook received here before `large` existed: it waits for a flavor.
    await fixture.db.addJob(job('900', { labels: ['x64', 'large'], createdAt }));
    expect((await jobsById()).get('900')?.assignedFlavor).toBeNull();

    const summary = await run();
    expect(tally(summary)).toEqual({
      flavors: { imported: 2, present: 1, skipped: ['a/b'] },
      tokens: { imported: 1, present: 1, skipped: ['legacy'] },
      jobs: { imported: 9, present: 1, skipped: ['github/105'] },
    });
    expect((await jobsById()).get('900')?.assignedFlavor).toBe('large');
    const pressures = await fixture.db.getPressures('github');
    expect(pressures).toEqual({ small: 6, large: 3, old: 4 });
    expect(pressures).toEqual(await recountedPressures(fixture, 'github', STALE_AFTER_MS));
  });
});

describe('Database.addAuthTokenHash', () => {
  it('stores a digest that verifyAuthToken then accepts, and refuses a taken name or digest', async () => {
    const token = new Uint8Array(32).fill(9);
    const digest = createHash('sha256').update(token).digest();
    await fixture.db.addAuthTokenHash('imported', digest);
    expect(await fixture.db.verifyAuthToken(token)).toBe('imported');
    expect(await fixture.db.authTokenNameOfHash(digest)).toBe('imported');
    await expect(fixture.db.addAuthTokenHash('imported', Buffer.alloc(32, 1))).rejects.toBeInstanceOf(
      ExistError,
    );
    await expect(fixture.db.addAuthTokenHash('other', digest)).rejects.toBeInstanceOf(ExistError);
    await expect(fixture.db.addAuthTokenHash('short', Buffer.alloc(31))).rejects.toThrow(
      'token hash must be 32 bytes',
    );
  });
});

describe('import-original refuses, writing nothing', () => {
  const refusal = async (from: string) => {
    const error = await run(from).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ImportOriginalError);
    const message = (error as Error).message;
    expect(message).not.toContain('\n');
    return message;
  };

  it('an unreachable server, without showing the password', async () => {
    const message = await refusal('postgres://planner:s3cret@127.0.0.1:1/planner');
    expect(message).toMatch(
      /^cannot connect to the original planner's database at postgres:\/\/planner:\*\*\*@127\.0\.0\.1:1\/planner: .*ECONNREFUSED/,
    );
    expect(message).not.toContain('s3cret');
    expect(await refusal('mysql://127.0.0.1/planner')).toContain('postgres:// or postgresql:// URL');
  });

  it('a database without the original tables, and runner-planner’s own database', async () => {
    expect(await refusal(emptyDatabase.url)).toContain(
      'is not a database of the original planner (missing table auth, table flavor, table job)',
    );
    expect(await refusal(fixture.url)).toContain("is a runner-planner database, not the original planner's");
  });

  it('a schema a failed migration left dirty', async () => {
    await original.sql.query('UPDATE schema_migrations SET dirty = true');
    try {
      expect(await refusal(original.url)).toContain('dirty at migration 2');
    } finally {
      await original.sql.query('UPDATE schema_migrations SET dirty = false');
    }
    expect(await snapshot()).toMatchObject({ flavor: [], auth_token: [], job: [] });
  });

  it('a flavor or token of the same name with other contents here', async () => {
    await fixture.db.addFlavor(flavor('large', { labels: ['x64', 'large'], priority: 1 }));
    await fixture.db.createAuthToken('ci');
    const before = await snapshot();
    const message = await refusal(original.url);
    expect(message).toBe(
      'nothing imported: flavor "large" exists here with other settings (priority 1 here, 5 in the original); ' +
        'token "ci" exists here with another secret. Delete or rename them here, then run the import again',
    );
    expect(await snapshot()).toEqual(before);
  });
});
