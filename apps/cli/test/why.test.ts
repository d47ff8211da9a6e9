import { loadConfig } from '@runner-planner/config';
import type { Flavor, NewJob } from '@runner-planner/core';
import { Database } from '@runner-planner/database';
import { openTestSql, type TestSql } from '@runner-planner/database/testing';
import { buildPlanner } from '@runner-planner/planner';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from './support.js';
import { useCliWorld } from './world.js';

const world = useCliWorld('cli_why');
let db: Database;
let sql: TestSql;

beforeAll(async () => {
  db = await Database.connect(world.database.url);
  sql = openTestSql(world.database.url, { max: 1 });
});

afterAll(async () => {
  await db?.close();
  await sql?.end();
});

// Every flavor is in the report: each test starts from an empty store.
beforeEach(async () => {
  await sql.reset();
});

const LARGE = ['large', 'x64'];

const addFlavor = (name: string, overrides: Partial<Flavor> = {}) =>
  db.addFlavor({
    platform: 'github',
    name,
    labels: LARGE,
    priority: 0,
    isDisabled: false,
    minimumPressure: 0,
    ...overrides,
  });

const addJob = (id: string, overrides: Partial<NewJob> = {}) =>
  db.addJob({
    platform: 'github',
    id,
    labels: LARGE,
    createdAt: new Date(),
    startedAt: null,
    completedAt: null,
    raw: { queued: {} },
    ...overrides,
  });

async function why(...args: string[]): Promise<string> {
  const result = await world.cli('jobs', 'why', ...args);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return result.stdout;
}

const WAITING_UNCOUNTED =
  'waiting for a runner (forge status queued), but no enabled flavor fits it: it counts nowhere';

describe('runner-planner jobs why', () => {
  it('a job that fits: assigned and counted', async () => {
    await addFlavor('big', { priority: 10 });
    await addJob('1', { labels: ['X64', 'large'] });
    expect(await why('github', '1')).toBe(
      [
        'github job 1: waiting for a runner (forge status queued): counts toward big',
        'labels: large, x64',
        '',
        'FLAVOR  PLATFORM  PRIORITY  VERDICT',
        'big     github    10        fits (assigned)',
        '',
      ].join('\n'),
    );
  });

  it('a flavor that fits at a lower priority than another', async () => {
    await addFlavor('big', { priority: 10 });
    await addFlavor('spare', { labels: [...LARGE, 'spare'], priority: 5 });
    await addJob('1');
    expect(await why('github', '1')).toContain(
      [
        'FLAVOR  PLATFORM  PRIORITY  VERDICT',
        'big     github    10        fits (assigned)',
        'spare   github    5         lower priority',
      ].join('\n'),
    );
  });

  it('a disabled flavor', async () => {
    await addFlavor('off', { isDisabled: true });
    await addJob('1');
    expect(await why('github', '1')).toBe(
      [
        `github job 1: ${WAITING_UNCOUNTED}`,
        'labels: large, x64',
        '',
        'FLAVOR  PLATFORM  PRIORITY  VERDICT',
        'off     github    0         disabled',
        '',
      ].join('\n'),
    );
  });

  it('a flavor that lacks labels, naming them', async () => {
    await addFlavor('arm', { labels: ['arm64'] });
    await addJob('1');
    expect(await why('github', '1')).toContain(
      ['FLAVOR  PLATFORM  PRIORITY  VERDICT', 'arm     github    0         lacks labels large, x64'].join(
        '\n',
      ),
    );
  });

  it('a flavor of the other platform', async () => {
    await addFlavor('gl', { platform: 'gitlab' });
    await addJob('1');
    const report = await why('github', '1');
    expect(report).toContain(`github job 1: ${WAITING_UNCOUNTED}\n`);
    expect(report).toContain(
      ['FLAVOR  PLATFORM  PRIORITY  VERDICT', 'gl      gitlab    0         other platform'].join('\n'),
    );
  });

  it('a gitlab flavor that takes no untagged jobs, next to one that does', async () => {
    await addFlavor('shared', { platform: 'gitlab', labels: ['docker'], runUntagged: true });
    await addFlavor('tagged-only', { platform: 'gitlab', labels: ['docker'] });
    await addJob('7', { platform: 'gitlab', labels: [], raw: { pending: {} } });
    expect(await why('gitlab', '7')).toBe(
      [
        'gitlab job 7: waiting for a runner (forge status pending): counts toward shared',
        'labels: none',
        '',
        'FLAVOR       PLATFORM  PRIORITY  VERDICT',
        'shared       gitlab    0         fits (assigned)',
        'tagged-only  gitlab    0         takes no untagged jobs',
        '',
      ].join('\n'),
    );
  });

  it('a held job: it fits a flavor but counts nowhere yet', async () => {
    await addFlavor('docker', { platform: 'gitlab', labels: ['docker'] });
    await addJob('8', { platform: 'gitlab', labels: ['docker'], held: true, raw: { manual: {} } });
    expect(await why('gitlab', '8')).toBe(
      [
        'gitlab job 8: held by the forge (forge status manual): not offered to runners yet, so it counts nowhere until it is',
        'labels: docker',
        '',
        'FLAVOR  PLATFORM  PRIORITY  VERDICT',
        'docker  gitlab    0         fits',
        '',
      ].join('\n'),
    );
  });

  it('a completed job', async () => {
    await addFlavor('big');
    await addJob('1', {
      startedAt: new Date('2026-11-28T10:01:00Z'),
      completedAt: new Date('2026-11-28T10:09:00Z'),
      raw: { queued: {}, in_progress: {}, completed: {} },
    });
    expect((await why('github', '1')).split('\n')[0]).toBe(
      'github job 1: completed at 2026-11-28T10:09:00.000Z (forge status completed): no longer demand',
    );
  });

  it('no flavor at all', async () => {
    await addJob('1');
    expect(await why('github', '1')).toBe(
      [
        `github job 1: ${WAITING_UNCOUNTED}`,
        'labels: large, x64',
        '',
        'no flavors at all: add one with runner-planner flavor add',
        '',
      ].join('\n'),
    );
  });

  it('counts with PRESSURE_STALE_AFTER, as the planner does', async () => {
    await addFlavor('big');
    await addJob('1', { createdAt: new Date(Date.now() - 2 * 3_600_000) });
    expect(await why('github', '1')).toContain('counts toward big');
    const hour = await runCli(['jobs', 'why', 'github', '1'], {
      cwd: world.cwd,
      env: { ...world.env, PRESSURE_STALE_AFTER: '1h' },
    });
    expect(hour.stdout.split('\n')[0]).toBe(
      'github job 1: assigned to big (forge status queued), but created longer ago than the staleness window: it no longer counts',
    );
    const bad = await runCli(['jobs', 'why', 'github', '1'], {
      cwd: world.cwd,
      env: { ...world.env, PRESSURE_STALE_AFTER: 'soon' },
    });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(
      'PRESSURE_STALE_AFTER: must be a duration such as 5d, 12h or 3600 (seconds)',
    );
  });

  it('--json prints what GET /api/jobs/{platform}/{id}/why answers', async () => {
    await addFlavor('big', { priority: 10 });
    await addFlavor('spare', { priority: 5 });
    await addFlavor('off', { isDisabled: true });
    await addFlavor('arm', { labels: ['arm64'] });
    await addFlavor('gl', { platform: 'gitlab' });
    await addJob('1');
    const printed = JSON.parse(await why('github', '1', '--json'));

    const config = loadConfig({
      ADMIN_TOKEN: 'planner_v0_cliWhyTestToken_0001',
      DATABASE_URL: world.database.url,
      REDIS_URL: world.queue.redisUrl,
      QUEUE_PREFIX: world.queue.prefix,
    });
    const planner = buildPlanner({ config, db, logger: false, dashboard: false });
    try {
      const answer = await planner.inject({
        method: 'GET',
        url: '/api/jobs/github/1/why',
        headers: { authorization: `Bearer ${config.adminToken}` },
      });
      expect(answer.statusCode).toBe(200);
      expect(printed).toEqual(answer.json());
    } finally {
      await planner.close();
    }
    expect(printed.flavors.map((verdict: { refusal: string | null }) => verdict.refusal)).toEqual([
      'missing-labels',
      null,
      'disabled',
      'lower-priority',
      'other-platform',
    ]);
  });

  it('refuses an unknown platform and a job never recorded, in one line', async () => {
    const platform = await world.cli('jobs', 'why', 'svn', '1');
    expect(platform.code).toBe(1);
    expect(platform.stderr).toBe('runner-planner: unknown platform "svn" (github or gitlab)\n');
    const missing = await world.cli('jobs', 'why', 'github', '404');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(
      'runner-planner: job github/404 does not exist: no event of it was recorded (a webhook that never arrived, or a job the worker ignores, such as a GitHub job without the self-hosted label)\n',
    );
  });
});
