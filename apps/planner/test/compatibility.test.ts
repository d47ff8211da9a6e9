import { Database } from '@runner-planner/database';
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPlanner } from '../src/index.js';
import { ADMIN_TOKEN, call, flavor, generalToken, job, usePlanner } from './support.js';

/**
 * One test per row of docs/compatibility.md: where the v1 API answers as the original Go planner
 * (canonical/github-runner-operators, internal/planner/server.go) and where it differs on purpose.
 */
const fixture = usePlanner('planner_compatibility');

const T0 = new Date('2026-11-28T10:00:00.000Z');

async function addFlavorOverApi(name: string, body: Record<string, unknown>) {
  const response = await call(fixture.app, 'POST', `/api/v1/flavors/${name}`, { body });
  expect(response.statusCode).toBe(201);
}

function expectGoText(response: { statusCode: number; body: string; headers: Record<string, unknown> }) {
  expect(response.headers['content-type']).toBe('text/plain; charset=utf-8');
  expect(response.headers['x-content-type-options']).toBe('nosniff');
  return [response.statusCode, response.body];
}

describe('answers as the original did', () => {
  it('lists GitHub flavors only, unless ?platform= asks for another platform or all', async () => {
    await fixture.db.addFlavor(flavor('lab', { platform: 'gitlab', labels: ['docker'] }));
    await fixture.db.addFlavor(flavor('small', { labels: ['small'] }));
    await fixture.db.addFlavor(flavor('big', { labels: ['big'] }));
    const names = async (query: string) =>
      (await call(fixture.app, 'GET', `/api/v1/flavors${query}`)).json().map((f: { name: string }) => f.name);
    expect(await names('')).toEqual(['big', 'small']);
    expect(await names('?platform=github')).toEqual(['big', 'small']);
    expect(await names('?platform=gitlab')).toEqual(['lab']);
    expect(await names('?platform=all')).toEqual(['big', 'lab', 'small']);
    const bad = await call(fixture.app, 'GET', '/api/v1/flavors?platform=bitbucket');
    expect(expectGoText(bad)).toEqual([
      400,
      'invalid query parameter platform: "bitbucket" is not one of github, gitlab, all\n',
    ]);
  });

  it('returns flavor labels lowercased in the order given, repeats included, and matches them as a set', async () => {
    const labels = ['Self-Hosted', 'Noble', 'X64', 'large', 'x64'];
    await addFlavorOverApi('large', { platform: 'github', labels, priority: 3 });
    const expected = ['self-hosted', 'noble', 'x64', 'large', 'x64'];
    expect((await call(fixture.app, 'GET', '/api/v1/flavors/large')).json().labels).toEqual(expected);
    expect((await call(fixture.app, 'GET', '/api/v1/flavors')).json()[0].labels).toEqual(expected);
    await fixture.db.addJob(job(['LARGE', 'noble'], { createdAt: new Date() }));
    expect((await call(fixture.app, 'GET', '/api/v1/flavors/large/pressure')).json()).toEqual({ large: 1 });
  });

  it('writes JSON as Go does: application/json without charset, HTML characters escaped, a newline', async () => {
    await addFlavorOverApi('web', { platform: 'github', labels: ['a<b>&c'] });
    const response = await call(fixture.app, 'GET', '/api/v1/flavors/web');
    expect(response.headers['content-type']).toBe('application/json');
    expect(response.body).toBe(
      '{"platform":"github","name":"web","labels":["a\\u003cb\\u003e\\u0026c"],"priority":0,"is_disabled":false,"minimum_pressure":0}\n',
    );
    const health = await call(fixture.app, 'GET', '/health', { token: null });
    expect([health.headers['content-type'], health.body]).toEqual(['application/json', '{"status":"ok"}\n']);
  });

  it('leaves unset job fields out, writes times as Go does and raw keys in Go map order', async () => {
    await fixture.db.addJob(
      job(['x'], { id: 'waiting', createdAt: T0, raw: { queued: { c: 1, bb: { z: 1, a: 2 } } } }),
    );
    await fixture.db.addJob(
      job(['x'], {
        id: 'done',
        createdAt: new Date('2026-11-28T10:00:01.500Z'),
        startedAt: new Date('2026-11-28T10:00:02.120Z'),
        completedAt: new Date('2026-11-28T10:00:03.123Z'),
      }),
    );
    const waiting = await call(fixture.app, 'GET', '/api/v1/jobs/github/waiting');
    expect(waiting.headers['content-type']).toBe('application/json');
    expect(waiting.body).toBe(
      '{"platform":"github","id":"waiting","labels":["x"],"created_at":"2026-11-28T10:00:00Z","raw":{"queued":{"bb":{"a":2,"z":1},"c":1}}}\n',
    );
    const done = (await call(fixture.app, 'GET', '/api/v1/jobs/github/done')).json();
    expect(done).toMatchObject({
      created_at: '2026-11-28T10:00:01.5Z',
      started_at: '2026-11-28T10:00:02.12Z',
      completed_at: '2026-11-28T10:00:03.123Z',
    });
    expect(done).not.toHaveProperty('assigned_flavor');
  });

  it('answers GET of `_` 400 and of an unknown flavor 404, in its words', async () => {
    const all = await call(fixture.app, 'GET', '/api/v1/flavors/_');
    expect(expectGoText(all)).toEqual([400, 'get all flavors is not supported\n']);
    const missing = await call(fixture.app, 'GET', '/api/v1/flavors/nope');
    expect(expectGoText(missing)).toEqual([404, 'cannot get flavor\n']);
  });

  it('checks a PATCH body before the name, with its texts for each refusal', async () => {
    await fixture.db.addFlavor(flavor('small'));
    const patch = (name: string, body: unknown) =>
      call(fixture.app, 'PATCH', `/api/v1/flavors/${name}`, { body });
    expect(expectGoText(await patch('small', { priority: 1 }))).toEqual([
      400,
      'is_disabled field is required\n',
    ]);
    expect(expectGoText(await patch('_', { is_disabled: null }))).toEqual([
      400,
      'is_disabled field is required\n',
    ]);
    expect(expectGoText(await patch('_', { is_disabled: true }))).toEqual([
      400,
      'update all flavors is not supported\n',
    ]);
    expect(expectGoText(await patch('nope', { is_disabled: true }))).toEqual([
      404,
      'cannot find flavor to update\n',
    ]);
    const ok = await patch('small', { is_disabled: true });
    expect([ok.statusCode, ok.body]).toEqual([204, '']);
  });

  it('deletes idempotently (200 for a missing flavor) but refuses `_`', async () => {
    const missing = await call(fixture.app, 'DELETE', '/api/v1/flavors/nope');
    expect([missing.statusCode, missing.body]).toEqual([200, '']);
    const all = await call(fixture.app, 'DELETE', '/api/v1/flavors/_');
    expect(expectGoText(all)).toEqual([400, 'delete all flavors is not supported\n']);
  });

  it('answers the pressure of `_` for GitHub flavors only unless ?platform= says otherwise', async () => {
    await fixture.db.addFlavor(flavor('lab', { platform: 'gitlab', minimumPressure: 2 }));
    await fixture.db.addFlavor(flavor('small', { minimumPressure: 1 }));
    const body = async (query: string) =>
      (await call(fixture.app, 'GET', `/api/v1/flavors/_/pressure${query}`)).body;
    expect(await body('')).toBe('{"small":1}\n');
    expect(await body('?platform=gitlab')).toBe('{"lab":2}\n');
    expect(await body('?platform=all')).toBe('{"lab":2,"small":1}\n');
  });

  it('answers `_` with only GitLab flavors as it answered no flavors: 404', async () => {
    await fixture.db.addFlavor(flavor('lab', { platform: 'gitlab' }));
    const response = await call(fixture.app, 'GET', '/api/v1/flavors/_/pressure');
    expect(expectGoText(response)).toEqual([404, 'flavor not found\n']);
  });

  it('sends Cache-Control: no-cache with every pressure answer, 404 included', async () => {
    await fixture.db.addFlavor(flavor('small'));
    const found = await call(fixture.app, 'GET', '/api/v1/flavors/small/pressure');
    expect([found.headers['cache-control'], found.headers['content-type'], found.body]).toEqual([
      'no-cache',
      'application/json',
      '{"small":0}\n',
    ]);
    const missing = await call(fixture.app, 'GET', '/api/v1/flavors/nope/pressure');
    expect(missing.headers['cache-control']).toBe('no-cache');
  });

  it('streams only for stream=true in any case; any other value is a plain answer', async () => {
    await fixture.db.addFlavor(flavor('small'));
    for (const value of ['1', 't', 'yes', 'false', '']) {
      const response = await call(fixture.app, 'GET', `/api/v1/flavors/small/pressure?stream=${value}`);
      expect([response.statusCode, response.body]).toEqual([200, '{"small":0}\n']);
    }
    // The first value counts, as Go's Query().Get.
    const twice = await call(fixture.app, 'GET', '/api/v1/flavors/small/pressure?stream=no&stream=true');
    expect(twice.body).toBe('{"small":0}\n');
  });

  it('takes any job platform: none recorded is an empty list, a job of it is not found', async () => {
    const list = await call(fixture.app, 'GET', '/api/v1/jobs/bitbucket');
    expect([list.statusCode, list.headers['content-type'], list.body]).toEqual([
      200,
      'application/json',
      '[]\n',
    ]);
    const one = await call(fixture.app, 'GET', '/api/v1/jobs/bitbucket/1');
    expect(expectGoText(one)).toEqual([404, 'job not found\n']);
    const patch = await call(fixture.app, 'PATCH', '/api/v1/jobs/bitbucket/1', {
      body: { started_at: null },
    });
    expect(expectGoText(patch)).toEqual([404, 'job not found\n']);
  });

  it('PATCHes a job: looked up before its body is read, {} changes nothing, a set field is named', async () => {
    const missing = await call(fixture.app, 'PATCH', '/api/v1/jobs/github/nope', { body: 'not json' });
    expect(expectGoText(missing)).toEqual([404, 'job not found\n']);
    await fixture.db.addJob(job(['x'], { id: '1', createdAt: T0, startedAt: T0 }));
    const nothing = await call(fixture.app, 'PATCH', '/api/v1/jobs/github/1', { body: {} });
    expect([nothing.statusCode, nothing.body]).toEqual([204, '']);
    const asNull = await call(fixture.app, 'PATCH', '/api/v1/jobs/github/1', { body: 'null' });
    expect(asNull.statusCode).toBe(204);
    const again = await call(fixture.app, 'PATCH', '/api/v1/jobs/github/1', {
      body: { started_at: '2026-11-28T10:05:00Z' },
    });
    expect(expectGoText(again)).toEqual([400, 'field is already set: cannot update started_at\n']);
  });

  it('answers a path with an empty segment as the mux did, before authentication', async () => {
    for (const [method, url] of [
      ['POST', '/api/v1/flavors/'],
      ['GET', '/api/v1/flavors/'],
      ['POST', '/api/v1/auth/token/'],
      ['DELETE', '/api/v1/auth/token/'],
      ['GET', '/api/v1/jobs/'],
      ['GET', '/api/v1/jobs/github/'],
    ] as const) {
      const response = await call(fixture.app, method, url, { token: null });
      expect(expectGoText(response)).toEqual([404, '404 page not found\n']);
    }
    const redirected = await call(fixture.app, 'GET', '/api/v1/flavors//pressure?stream=true', {
      token: null,
    });
    expect(redirected.statusCode).toBe(301);
    expect(redirected.headers.location).toBe('/api/v1/flavors/pressure?stream=true');
    expect(redirected.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(redirected.body).toBe('<a href="/api/v1/flavors/pressure?stream=true">Moved Permanently</a>.\n\n');
    const patched = await call(fixture.app, 'PATCH', '/api/v1/jobs//1', { token: null, body: {} });
    expect([patched.statusCode, patched.headers.location, patched.body]).toEqual([301, '/api/v1/jobs/1', '']);
  });

  it('answers a method a path does not serve 405 with Allow, before authentication', async () => {
    const cases: [string, string, string][] = [
      ['PUT', '/api/v1/flavors/small', 'DELETE, GET, HEAD, PATCH, POST'],
      ['POST', '/api/v1/flavors', 'GET, HEAD'],
      ['DELETE', '/api/v1/flavors/small/pressure', 'GET, HEAD'],
      ['GET', '/api/v1/auth/token/ci', 'DELETE, POST'],
      ['PUT', '/api/v1/auth/token', 'GET, HEAD'],
      ['DELETE', '/api/v1/jobs/github', 'GET, HEAD'],
      ['POST', '/api/v1/jobs/github/1', 'GET, HEAD, PATCH'],
      ['POST', '/health', 'GET, HEAD'],
    ];
    for (const [method, url, allow] of cases) {
      const response = await fixture.app.inject({ method: method as 'PUT', url });
      expect([url, ...expectGoText(response), response.headers.allow]).toEqual([
        url,
        405,
        'Method Not Allowed\n',
        allow,
      ]);
    }
  });

  it('reads a body as Go’s decoder: field names in any case, nothing after the first value', async () => {
    await addFlavorOverApi('cased', { Platform: 'github', LABELS: ['X64'], Priority: 4 });
    expect((await fixture.db.getFlavor('cased')).labels).toEqual(['x64']);
    expect((await fixture.db.getFlavor('cased')).priority).toBe(4);
    const trailing = await call(fixture.app, 'POST', '/api/v1/flavors/trailing', {
      body: '{"platform":"github","labels":["a"]} {"platform":"gitlab"} and more',
    });
    expect(trailing.statusCode).toBe(201);
    expect((await fixture.db.getFlavor('trailing')).platform).toBe('github');
    const last = await call(fixture.app, 'PATCH', '/api/v1/flavors/cased', {
      body: '{"is_disabled": false, "IS_DISABLED": true}',
    });
    expect(last.statusCode).toBe(204);
    expect((await fixture.db.getFlavor('cased')).isDisabled).toBe(true);
  });

  it('hands out and lists tokens as Go JSON', async () => {
    const created = await call(fixture.app, 'POST', '/api/v1/auth/token/ci');
    expect(created.statusCode).toBe(201);
    expect(created.headers['content-type']).toBe('application/json');
    expect(created.body).toMatch(/^\{"name":"ci","token":"[A-Za-z0-9_-]{43}"\}\n$/);
    const listed = await call(fixture.app, 'GET', '/api/v1/auth/token');
    expect([listed.headers['content-type'], listed.body]).toEqual(['application/json', '{"names":["ci"]}\n']);
  });
});

describe('answers as the original did when its stores fail', () => {
  let broken: FastifyInstance;

  beforeAll(async () => {
    // A real database connection, closed: every query fails as it would with PostgreSQL gone.
    const db = await Database.connect(fixture.url);
    broken = buildPlanner({ config: fixture.config, db, registry: new Registry(), dashboard: false });
    await broken.ready();
    await db.close();
  });
  afterAll(async () => {
    await broken?.close();
  });

  it('answers 500 "failed to verify auth token" when a general token cannot be checked', async () => {
    const token = await generalToken(fixture.db, 'ci');
    const response = await call(broken, 'GET', '/api/v1/flavors/small/pressure', { token });
    expect(expectGoText(response)).toEqual([500, 'failed to verify auth token\n']);
  });

  it('keeps the database error out of other 500 answers (the original included it)', async () => {
    const response = await call(broken, 'GET', '/api/v1/flavors/small', { token: ADMIN_TOKEN });
    expect(expectGoText(response)).toEqual([500, 'internal error\n']);
  });
});

describe('differs on purpose (docs/compatibility.md, "kept")', () => {
  it('addresses a single flavor by name whatever its platform', async () => {
    await fixture.db.addFlavor(flavor('lab', { platform: 'gitlab', labels: ['docker'] }));
    await fixture.db.addJob(job(['docker'], { platform: 'gitlab', createdAt: new Date() }));
    expect((await call(fixture.app, 'GET', '/api/v1/flavors/lab/pressure')).json()).toEqual({ lab: 1 });
    const patched = await call(fixture.app, 'PATCH', '/api/v1/flavors/lab', { body: { is_disabled: true } });
    expect(patched.statusCode).toBe(204);
    expect((await fixture.db.getFlavor('lab')).isDisabled).toBe(true);
    expect((await call(fixture.app, 'DELETE', '/api/v1/flavors/lab')).statusCode).toBe(200);
    expect(await fixture.db.listFlavors('gitlab')).toEqual([]);
  });

  it('refuses flavors the original stored or failed on with a 500', async () => {
    const post = (name: string, body: Record<string, unknown>) =>
      call(fixture.app, 'POST', `/api/v1/flavors/${name}`, { body });
    const cases: [string, Record<string, unknown>, string][] = [
      ['x', { platform: 'openstack' }, 'platform must be one of github, gitlab'],
      ['x', { platform: '' }, 'platform must be a non-empty string'],
      ['_', { platform: 'github' }, 'reserved'],
      ['-', { platform: 'github' }, 'reserved'],
      ['a%2Fb', { platform: 'github' }, 'must not contain "/"'],
      ['x', { platform: 'github', minimum_pressure: -1 }, 'minimum_pressure must be a non-negative integer'],
      ['x', { platform: 'github', priority: 2 ** 33 }, 'priority must be between'],
    ];
    for (const [name, body, message] of cases) {
      const response = await post(name, body);
      expect([response.statusCode, response.body.startsWith('invalid payload: ')]).toEqual([400, true]);
      expect(response.body).toContain(message);
    }
    // Missing labels reached the original's NOT NULL column as NULL; here they are none.
    expect((await post('bare', { platform: 'github' })).statusCode).toBe(201);
    expect((await fixture.db.getFlavor('bare')).labels).toEqual([]);
  });

  it('says what is wrong with a body in its own words after "invalid payload: "', async () => {
    const response = await call(fixture.app, 'POST', '/api/v1/flavors/x', {
      body: { platform: 'github', priority: '1' },
    });
    expect(expectGoText(response)).toEqual([400, 'invalid payload: priority must be an integer\n']);
  });

  it('trims labels and drops empty ones', async () => {
    await addFlavorOverApi('spaced', { platform: 'github', labels: [' X64 ', '', 'large'] });
    expect((await fixture.db.getFlavor('spaced')).labels).toEqual(['x64', 'large']);
  });

  it('keeps job labels as a sorted set', async () => {
    await fixture.db.addJob(job(['x64', 'Large', 'x64'], { id: 'j' }));
    expect((await call(fixture.app, 'GET', '/api/v1/jobs/github/j')).json().labels).toEqual(['large', 'x64']);
  });

  it('reads query parameters on the job list, refusing bad values (the original ignored them)', async () => {
    await fixture.db.addJob(job(['x'], { id: '1', createdAt: T0 }));
    await fixture.db.addJob(job(['x'], { id: '2', createdAt: new Date(T0.getTime() + 1_000) }));
    const ids = (await call(fixture.app, 'GET', '/api/v1/jobs/github?limit=1'))
      .json()
      .map((j: { id: string }) => j.id);
    expect(ids).toEqual(['1']);
    expect((await call(fixture.app, 'GET', '/api/v1/jobs/github?limit=abc')).statusCode).toBe(400);
  });

  it('writes nothing when a PATCH names a job field that is already set', async () => {
    await fixture.db.addJob(job(['x'], { id: '1', createdAt: T0, completedAt: T0 }));
    const response = await call(fixture.app, 'PATCH', '/api/v1/jobs/github/1', {
      body: { started_at: '2026-11-28T10:05:00Z', completed_at: '2026-11-28T10:06:00Z' },
    });
    expect(expectGoText(response)).toEqual([400, 'field is already set: cannot update completed_at\n']);
    const [row] = await fixture.db.listJobs('github', { withId: '1' });
    expect(row?.startedAt).toBeNull();
  });

  it('answers `//` elsewhere than in place of a name 404 (the original redirected it)', async () => {
    for (const url of ['/api/v1//flavors', '/api//v1/flavors/x', '/api/v1/flavors/x//']) {
      const response = await call(fixture.app, 'GET', url, { token: null });
      expect(expectGoText(response)).toEqual([404, '404 page not found\n']);
    }
  });

  it('refuses token names of spaces only', async () => {
    const response = await call(fixture.app, 'POST', '/api/v1/auth/token/%20');
    expect(expectGoText(response)).toEqual([400, 'missing token name\n']);
  });

  it('sends Cache-Control: no-store with a new token', async () => {
    const response = await call(fixture.app, 'POST', '/api/v1/auth/token/ci');
    expect(response.headers['cache-control']).toBe('no-store');
  });

  it('answers 404 to methods outside DELETE, GET, HEAD, OPTIONS, PATCH, POST and PUT', async () => {
    const response = await fixture.app.inject({ method: 'PROPFIND' as 'GET', url: '/api/v1/flavors/small' });
    expect(expectGoText(response)).toEqual([404, '404 page not found\n']);
  });

  it('refuses a body over 1 MiB with 413', async () => {
    const body = { platform: 'github', ignored: 'x'.repeat(1_048_576) };
    const response = await call(fixture.app, 'POST', '/api/v1/flavors/huge', { body });
    expect(response.statusCode).toBe(413);
  });

  // Last: it closes the hub of this file's app.
  it('answers 503 to a stream request while shutting down (the original: 500 when it could not subscribe)', async () => {
    await fixture.db.addFlavor(flavor('small'));
    await fixture.app.pressureHub.close();
    const response = await call(fixture.app, 'GET', '/api/v1/flavors/small/pressure?stream=true');
    expect(expectGoText(response)).toEqual([503, 'the planner is shutting down\n']);
  });
});
