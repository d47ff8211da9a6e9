import { beforeEach, describe, expect, it } from 'vitest';
import { call, flavor, job, usePlanner } from './support.js';

const fixture = usePlanner('planner_jobs');

const T0 = new Date('2026-11-28T10:00:00.000Z');
const minutes = (n: number) => new Date(T0.getTime() + n * 60_000);

beforeEach(async () => {
  await fixture.db.addFlavor(flavor('large', { labels: ['large'] }));
  await fixture.db.addJob(job(['large'], { id: '1', createdAt: minutes(0), raw: { queued: { a: 1 } } }));
  await fixture.db.addJob(
    job(['large'], { id: '2', createdAt: minutes(1), startedAt: minutes(2), completedAt: minutes(3) }),
  );
  await fixture.db.addJob(job(['other'], { id: '3', createdAt: minutes(2) }));
  await fixture.db.addJob(job(['docker'], { platform: 'gitlab', id: '1', createdAt: minutes(0) }));
});

const ids = (body: unknown) => (body as { id: string }[]).map((row) => row.id);

describe('GET /api/v1/jobs/{platform}', () => {
  it('lists the jobs of the platform, oldest first, in snake_case, unset fields left out', async () => {
    const response = await call(fixture.app, 'GET', '/api/v1/jobs/github');
    expect(response.statusCode).toBe(200);
    const body = response.json() as unknown[];
    expect(ids(body)).toEqual(['1', '2', '3']);
    // Payloads only when asked for: raw=true.
    expect(body[0]).toEqual({
      platform: 'github',
      id: '1',
      labels: ['large'],
      created_at: '2026-11-28T10:00:00Z',
      assigned_flavor: 'large',
    });
    const withRaw = (await call(fixture.app, 'GET', '/api/v1/jobs/github?raw=true')).json() as unknown[];
    expect(withRaw[0]).toEqual({
      platform: 'github',
      id: '1',
      labels: ['large'],
      created_at: '2026-11-28T10:00:00Z',
      raw: { queued: { a: 1 } },
      assigned_flavor: 'large',
    });
    expect(body[1]).toMatchObject({
      started_at: '2026-11-28T10:02:00Z',
      completed_at: '2026-11-28T10:03:00Z',
    });
    expect(body[1]).not.toHaveProperty('assigned_flavor');
    expect(body[2]).toMatchObject({ id: '3' });
    expect(body[2]).not.toHaveProperty('assigned_flavor');
    expect(ids((await call(fixture.app, 'GET', '/api/v1/jobs/gitlab')).json())).toEqual(['1']);
  });

  it('filters by id, incompleteness, creation time and count', async () => {
    const get = async (query: string) =>
      ids((await call(fixture.app, 'GET', `/api/v1/jobs/github?${query}`)).json());
    expect(await get('id=2')).toEqual(['2']);
    expect(await get('id=404')).toEqual([]);
    expect(await get('only_not_completed=true')).toEqual(['1', '3']);
    expect(await get('only_not_completed=false')).toEqual(['1', '2', '3']);
    expect(await get('created_after=2026-11-28T10:00:30Z')).toEqual(['2', '3']);
    expect(await get('created_after=2026-11-28T11:00:30%2B01:00')).toEqual(['2', '3']);
    expect(await get('limit=2')).toEqual(['1', '2']);
    expect(await get('limit=0')).toEqual(['1', '2', '3']);
    expect(await get('only_not_completed=true&created_after=2026-11-28T10:00:30Z&limit=1')).toEqual(['3']);
    expect(await get('limit=1000')).toEqual(['1', '2', '3']);
    expect(await get('raw=true&limit=100')).toEqual(['1', '2', '3']);
  });

  it.each([
    ['limit=-1', 'invalid query parameter limit'],
    ['limit=abc', 'invalid query parameter limit'],
    ['limit=1.5', 'invalid query parameter limit'],
    ['limit=10001', 'invalid query parameter limit'],
    ['limit=1001', 'from 0 to 1000'],
    ['raw=true&limit=101', 'at most 100 with raw=true'],
    ['raw=maybe', 'invalid query parameter raw'],
    ['created_after=yesterday', 'invalid query parameter created_after'],
    ['created_after=2026-11-28', 'invalid query parameter created_after'],
    ['created_after=2026-02-30T00:00:00Z', 'invalid query parameter created_after'],
    ['only_not_completed=maybe', 'invalid query parameter only_not_completed'],
    ['limit=1&limit=2', 'invalid query parameter limit'],
  ])('answers 400 to %s', async (query, message) => {
    const response = await call(fixture.app, 'GET', `/api/v1/jobs/github?${query}`);
    expect(response.statusCode).toBe(400);
    expect(response.body).toContain(message);
    expect(response.headers['content-type']).toBe('text/plain; charset=utf-8');
  });

  it('answers an empty list for a platform without jobs, as the original did', async () => {
    const response = await call(fixture.app, 'GET', '/api/v1/jobs/bitbucket');
    expect(response.statusCode).toBe(200);
    expect(response.body).toBe('[]\n');
  });
});

describe('GET /api/v1/jobs/{platform}/{id}', () => {
  it('returns the job', async () => {
    const response = await call(fixture.app, 'GET', '/api/v1/jobs/gitlab/1');
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({
      platform: 'gitlab',
      id: '1',
      labels: ['docker'],
    });
    expect(response.json()).not.toHaveProperty('completed_at');
  });

  it('answers 404 for a missing job', async () => {
    const response = await call(fixture.app, 'GET', '/api/v1/jobs/github/999');
    expect(response.statusCode).toBe(404);
    expect(response.body).toBe('job not found\n');
    expect((await call(fixture.app, 'GET', '/api/v1/jobs/bitbucket/1')).statusCode).toBe(404);
  });
});

describe('PATCH /api/v1/jobs/{platform}/{id}', () => {
  it('sets started_at, then completed_at, moving the pressure', async () => {
    // Created just now: the other jobs are past the staleness window and count nowhere.
    await fixture.db.addJob(job(['large'], { id: '9', createdAt: new Date(), raw: { queued: { a: 1 } } }));
    expect(await fixture.db.getPressures('github')).toEqual({ large: 1 });
    const started = await call(fixture.app, 'PATCH', '/api/v1/jobs/github/9', {
      body: { started_at: '2026-11-28T10:05:00Z' },
    });
    expect(started.statusCode).toBe(204);
    expect(started.body).toBe('');
    const completed = await call(fixture.app, 'PATCH', '/api/v1/jobs/github/9', {
      body: { completed_at: '2026-11-28T12:10:00.5+02:00' },
    });
    expect(completed.statusCode).toBe(204);
    const [row] = await fixture.db.listJobs('github', { withId: '9' });
    expect(row?.startedAt).toEqual(new Date('2026-11-28T10:05:00Z'));
    expect(row?.completedAt).toEqual(new Date('2026-11-28T10:10:00.500Z'));
    expect(row?.raw).toEqual({ queued: { a: 1 } });
    expect(await fixture.db.getPressures('github')).toEqual({ large: 0 });
  });

  it('sets both at once, ignoring other fields and nulls', async () => {
    const response = await call(fixture.app, 'PATCH', '/api/v1/jobs/github/3', {
      body: {
        id: '9',
        labels: ['x'],
        started_at: '2026-11-28T10:05:00Z',
        completed_at: '2026-11-28T10:06:00Z',
        raw: null,
      },
    });
    expect(response.statusCode).toBe(204);
    const [row] = await fixture.db.listJobs('github', { withId: '3' });
    expect(row).toMatchObject({ id: '3', labels: ['other'], startedAt: minutes(5), completedAt: minutes(6) });
  });

  it('answers 400 naming the timestamp that is already set', async () => {
    const again = await call(fixture.app, 'PATCH', '/api/v1/jobs/github/2', {
      body: { started_at: '2026-11-28T10:05:00Z' },
    });
    expect(again.statusCode).toBe(400);
    expect(again.body).toBe('field is already set: cannot update started_at\n');
    const done = await call(fixture.app, 'PATCH', '/api/v1/jobs/github/2', {
      body: { completed_at: '2026-11-28T10:05:00Z' },
    });
    expect(done.body).toBe('field is already set: cannot update completed_at\n');
    const both = await call(fixture.app, 'PATCH', '/api/v1/jobs/github/2', {
      body: { started_at: '2026-11-28T10:05:00Z', completed_at: '2026-11-28T10:05:00Z' },
    });
    expect(both.body).toBe('field is already set: cannot update started_at\n');
    const [row] = await fixture.db.listJobs('github', { withId: '2' });
    expect(row?.startedAt).toEqual(minutes(2));
  });

  it.each([
    ['an unparsable started_at', { started_at: 'soon' }, 'started_at must be an RFC 3339 timestamp'],
    ['a date without time', { completed_at: '2026-11-28' }, 'completed_at must be an RFC 3339 timestamp'],
    [
      'a time without zone',
      { started_at: '2026-11-28T10:00:00' },
      'started_at must be an RFC 3339 timestamp',
    ],
    ['a numeric timestamp', { started_at: 1_700_000_000 }, 'started_at must be an RFC 3339 timestamp'],
  ])('answers 400 to %s', async (_case, body, message) => {
    const response = await call(fixture.app, 'PATCH', '/api/v1/jobs/github/1', { body });
    expect(response.statusCode).toBe(400);
    expect(response.body).toMatch(/^invalid payload: /);
    expect(response.body).toContain(message);
  });

  it('answers 400 to a body that is not JSON', async () => {
    const response = await call(fixture.app, 'PATCH', '/api/v1/jobs/github/1', { body: 'started' });
    expect(response.statusCode).toBe(400);
  });

  it('answers 404 for a missing job or platform', async () => {
    const body = { started_at: '2026-11-28T10:05:00Z' };
    const missing = await call(fixture.app, 'PATCH', '/api/v1/jobs/github/999', { body });
    expect(missing.statusCode).toBe(404);
    expect(missing.body).toBe('job not found\n');
    expect((await call(fixture.app, 'PATCH', '/api/v1/jobs/bitbucket/1', { body })).statusCode).toBe(404);
  });
});
