import { Database } from '@runner-planner/database';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { buildPlanner } from '../src/index.js';
import { call, flavor, job, plannerConfig, usePlanner } from './support.js';

const fixture = usePlanner('planner_why');

const LARGE = ['large', 'x64'];
const NEVER_RECORDED =
  'no event of it was recorded (a webhook that never arrived, or a job the worker ignores, such as a GitHub job without the self-hosted label)';

async function why(platform: string, id: string) {
  const response = await call(fixture.app, 'GET', `/api/jobs/${platform}/${id}/why`);
  expect(response.statusCode, response.body).toBe(200);
  return response.json();
}

/** A verdict as the route writes it, for a flavor with the given name and refusal. */
const verdict = (
  name: string,
  refusal: string | null,
  detail: string,
  more: { platform?: string; priority?: number; missing_labels?: string[] } = {},
) => ({
  flavor: name,
  platform: more.platform ?? 'github',
  priority: more.priority ?? 0,
  refusal,
  missing_labels: more.missing_labels ?? [],
  detail,
});

describe('GET /api/jobs/{platform}/{id}/why', () => {
  it('a job that fits: assigned to the best flavor and counted, in snake_case', async () => {
    await fixture.db.addFlavor(flavor('big', { labels: LARGE, priority: 10 }));
    await fixture.db.addJob(job(['X64', 'large'], { id: '1' }));
    const response = await call(fixture.app, 'GET', '/api/jobs/github/1/why');
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    expect(response.json()).toEqual({
      platform: 'github',
      id: '1',
      labels: LARGE,
      phase: 'waiting',
      forge_status: 'queued',
      assigned_flavor: 'big',
      counted: true,
      summary: 'waiting for a runner (forge status queued): counts toward big',
      flavors: [
        verdict('big', null, 'fits: covers labels large, x64 at the highest priority', { priority: 10 }),
      ],
    });
  });

  it('a flavor that fits at a lower priority than another', async () => {
    await fixture.db.addFlavor(flavor('big', { labels: LARGE, priority: 10 }));
    await fixture.db.addFlavor(flavor('spare', { labels: [...LARGE, 'spare'], priority: 5 }));
    await fixture.db.addJob(job(LARGE, { id: '1' }));
    const answer = await why('github', '1');
    expect(answer.assigned_flavor).toBe('big');
    expect(answer.flavors).toEqual([
      verdict('big', null, 'fits: covers labels large, x64 at the highest priority', { priority: 10 }),
      verdict('spare', 'lower-priority', 'priority 5 is below 10 of a flavor that fits', { priority: 5 }),
    ]);
  });

  it('a disabled flavor, even of a higher priority', async () => {
    await fixture.db.addFlavor(flavor('off', { labels: LARGE, priority: 20, isDisabled: true }));
    await fixture.db.addFlavor(flavor('on', { labels: LARGE }));
    await fixture.db.addJob(job(LARGE, { id: '1' }));
    const answer = await why('github', '1');
    expect(answer.assigned_flavor).toBe('on');
    expect(answer.flavors).toEqual([
      verdict('off', 'disabled', 'disabled', { priority: 20 }),
      verdict('on', null, 'fits: covers labels large, x64 at the highest priority'),
    ]);
  });

  it('a flavor that lacks some of the job’s labels, naming them', async () => {
    await fixture.db.addFlavor(flavor('x64-only', { labels: ['x64'] }));
    await fixture.db.addJob(job(LARGE, { id: '1' }));
    const answer = await why('github', '1');
    expect(answer).toMatchObject({
      assigned_flavor: null,
      counted: false,
      summary: 'waiting for a runner (forge status queued), but no enabled flavor fits it: it counts nowhere',
    });
    expect(answer.flavors).toEqual([
      verdict('x64-only', 'missing-labels', 'lacks labels: large', { missing_labels: ['large'] }),
    ]);
  });

  it('a flavor of the other platform, listed after the job’s own platform', async () => {
    await fixture.db.addFlavor(flavor('a-gitlab', { platform: 'gitlab', labels: LARGE }));
    await fixture.db.addFlavor(flavor('z-github', { labels: LARGE }));
    await fixture.db.addJob(job(LARGE, { id: '1' }));
    expect((await why('github', '1')).flavors).toEqual([
      verdict('z-github', null, 'fits: covers labels large, x64 at the highest priority'),
      verdict('a-gitlab', 'other-platform', 'a gitlab flavor; the job is a github job', {
        platform: 'gitlab',
      }),
    ]);
  });

  it('a gitlab flavor that takes no untagged jobs, next to one that does', async () => {
    await fixture.db.addFlavor(flavor('tagged-only', { platform: 'gitlab', labels: ['docker'] }));
    await fixture.db.addFlavor(
      flavor('shared', { platform: 'gitlab', labels: ['docker'], runUntagged: true }),
    );
    await fixture.db.addJob(job([], { platform: 'gitlab', id: '7', raw: { pending: {} } }));
    const answer = await why('gitlab', '7');
    expect(answer).toMatchObject({ labels: [], forge_status: 'pending', assigned_flavor: 'shared' });
    expect(answer.flavors).toEqual([
      verdict('shared', null, 'fits: covers labels none at the highest priority', { platform: 'gitlab' }),
      verdict('tagged-only', 'untagged', 'takes no untagged jobs (run_untagged is false)', {
        platform: 'gitlab',
      }),
    ]);
  });

  it('a held job: fits a flavor but counts nowhere until the forge offers it', async () => {
    await fixture.db.addFlavor(flavor('docker', { platform: 'gitlab', labels: ['docker'] }));
    await fixture.db.addJob(
      job(['docker'], { platform: 'gitlab', id: '8', held: true, raw: { created: {} } }),
    );
    const answer = await why('gitlab', '8');
    expect(answer).toMatchObject({
      phase: 'held',
      forge_status: 'created',
      assigned_flavor: null,
      counted: false,
      summary:
        'held by the forge (forge status created): not offered to runners yet, so it counts nowhere until it is',
    });
    expect(answer.flavors[0]).toMatchObject({ flavor: 'docker', refusal: null });
  });

  it('a completed job: no longer demand', async () => {
    await fixture.db.addFlavor(flavor('big', { labels: LARGE }));
    await fixture.db.addJob(
      job(LARGE, {
        id: '1',
        startedAt: new Date('2026-11-28T10:01:00Z'),
        completedAt: new Date('2026-11-28T10:09:00Z'),
        raw: { queued: {}, in_progress: {}, completed: {} },
      }),
    );
    expect(await why('github', '1')).toMatchObject({
      phase: 'ended',
      forge_status: 'completed',
      counted: false,
      summary: 'completed at 2026-11-28T10:09:00.000Z (forge status completed): no longer demand',
    });
  });

  it('a job older than the staleness window of the planner’s database: assigned but no longer counted', async () => {
    await fixture.db.addFlavor(flavor('big', { labels: LARGE }));
    await fixture.db.addJob(job(LARGE, { id: '1', createdAt: new Date(Date.now() - 2 * 3_600_000) }));
    expect(await why('github', '1')).toMatchObject({ counted: true });

    const hourWindow = await Database.connect(fixture.url, { staleAfterMs: 3_600_000 });
    const app = buildPlanner({
      config: fixture.config,
      db: hourWindow,
      registry: new Registry(),
      dashboard: false,
    });
    try {
      const response = await call(app, 'GET', '/api/jobs/github/1/why');
      expect(response.json()).toMatchObject({
        phase: 'waiting',
        assigned_flavor: 'big',
        counted: false,
        summary:
          'assigned to big (forge status queued), but created longer ago than the staleness window: it no longer counts',
      });
    } finally {
      await app.close();
      await hourWindow.close();
    }
  });

  it('no flavor at all', async () => {
    await fixture.db.addJob(job(LARGE, { id: '1', startedAt: new Date(), raw: { in_progress: {} } }));
    expect(await why('github', '1')).toEqual({
      platform: 'github',
      id: '1',
      labels: LARGE,
      phase: 'running',
      forge_status: 'in_progress',
      assigned_flavor: null,
      counted: false,
      summary: 'running (forge status in_progress), but no enabled flavor fits it: it counts nowhere',
      flavors: [],
    });
  });

  it('answers 404 for a job never recorded, saying what that usually means', async () => {
    await fixture.db.addJob(job(LARGE, { platform: 'gitlab', id: '1' }));
    const response = await call(fixture.app, 'GET', '/api/jobs/github/1/why');
    expect(response.statusCode).toBe(404);
    expect(response.body).toBe(`job github/1 not found: ${NEVER_RECORDED}\n`);
    expect(response.headers['content-type']).toBe('text/plain; charset=utf-8');
  });

  it('answers 404 naming the known platforms to an unknown one', async () => {
    const why = await call(fixture.app, 'GET', '/api/jobs/bitbucket/1/why');
    expect(why.statusCode).toBe(404);
    expect(why.body).toBe('unknown platform "bitbucket": must be one of github, gitlab\n');
  });

  it('is not part of the v1 API', async () => {
    await fixture.db.addJob(job(LARGE, { id: '1' }));
    const response = await call(fixture.app, 'GET', '/api/v1/jobs/github/1/why');
    expect(response.statusCode).toBe(404);
    expect(response.body).toBe('404 page not found\n');
  });

  it('is rate-limited per address before the credential is checked', async () => {
    const app = buildPlanner({
      config: plannerConfig(fixture.url, fixture.prefix, { PLANNER_RATE_LIMIT: '2' }),
      db: fixture.db,
      registry: new Registry(),
      dashboard: false,
    });
    try {
      expect((await call(app, 'GET', '/api/jobs/github/1/why')).statusCode).toBe(404);
      expect((await call(app, 'GET', '/api/jobs/github/1/why', { token: null })).statusCode).toBe(400);
      const limited = await call(app, 'GET', '/api/jobs/github/1/why', { token: 'wrong' });
      expect(limited.statusCode).toBe(429);
      expect(limited.headers['retry-after']).toBeDefined();
    } finally {
      await app.close();
    }
  });
});
