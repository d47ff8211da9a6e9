import { describe, expect, it } from 'vitest';
import { call, flavor, job, usePlanner } from './support.js';

const fixture = usePlanner('planner_scopes');

async function createToken(name: string, body?: unknown) {
  return call(fixture.app, 'POST', `/api/v1/auth/token/${name}`, body === undefined ? {} : { body });
}

async function tokenOf(name: string, body?: unknown): Promise<string> {
  const response = await createToken(name, body);
  expect(response.statusCode).toBe(201);
  return (response.json() as { token: string }).token;
}

describe('token scope at creation', () => {
  it('makes a general token without a body, as the original planner’s clients ask', async () => {
    await tokenOf('plain');
    expect(await fixture.db.authTokenScope('plain')).toBe('general');
  });

  it.each([
    ['{}', 'general'],
    ['{"scope": null}', 'general'],
    ['{"scope": "general"}', 'general'],
    ['{"scope": "read-only"}', 'read-only'],
    ['{"SCOPE": "read-only"}', 'read-only'],
    ['  ', 'general'],
  ])('reads %s as %s', async (body, scope) => {
    await tokenOf('scoped', body);
    expect(await fixture.db.authTokenScope('scoped')).toBe(scope);
  });

  it.each([
    ['{"scope": "admin"}', 'invalid payload: scope must be one of general, read-only\n'],
    ['{"scope": ["read-only"]}', 'invalid payload: scope must be one of general, read-only\n'],
    ['read-only', 'invalid payload: '],
  ])('refuses %s with 400 and creates nothing', async (body, text) => {
    const response = await createToken('refused', body);
    expect(response.statusCode).toBe(400);
    expect(response.body.startsWith(text)).toBe(true);
    expect(await fixture.db.authTokenScope('refused')).toBeUndefined();
  });
});

describe('a read-only token', () => {
  it('reads flavors, pressure and jobs', async () => {
    await fixture.db.addFlavor(flavor('large'));
    await fixture.db.addJob(job(['large'], { id: 'j1' }));
    const token = await tokenOf('reader', { scope: 'read-only' });
    for (const url of [
      '/api/v1/flavors/large',
      '/api/v1/flavors/large/pressure',
      '/api/v1/flavors/_/pressure',
      '/api/v1/jobs/github',
      '/api/v1/jobs/github/j1',
      '/api/jobs/github/j1/why',
    ]) {
      expect((await call(fixture.app, 'GET', url, { token })).statusCode, url).toBe(200);
    }
  });

  it('is refused 403 every change: flavor create, enable/disable, delete, job timestamps', async () => {
    await fixture.db.addFlavor(flavor('large'));
    await fixture.db.addJob(job(['large'], { id: 'j1' }));
    const token = await tokenOf('reader', { scope: 'read-only' });
    const changes = [
      call(fixture.app, 'POST', '/api/v1/flavors/new', {
        token,
        body: { platform: 'github', labels: ['x'] },
      }),
      call(fixture.app, 'PATCH', '/api/v1/flavors/large', { token, body: { is_disabled: true } }),
      call(fixture.app, 'DELETE', '/api/v1/flavors/large', { token }),
      call(fixture.app, 'PATCH', '/api/v1/jobs/github/j1', {
        token,
        body: { started_at: '2026-12-01T00:00:00Z' },
      }),
    ];
    for (const response of await Promise.all(changes)) {
      expect([response.statusCode, response.body]).toEqual([403, 'forbidden: read-only token\n']);
    }
    // Nothing changed.
    expect(await fixture.db.getFlavor('large')).toMatchObject({ isDisabled: false });
    await expect(fixture.db.getFlavor('new')).rejects.toThrow();
    expect((await fixture.db.listJobs('github', { withId: 'j1' }))[0]?.startedAt).toBeNull();
  });

  it('is still a wrong token on admin-only routes (401, as any general token)', async () => {
    const token = await tokenOf('reader', { scope: 'read-only' });
    expect((await call(fixture.app, 'GET', '/api/v1/flavors', { token })).statusCode).toBe(401);
    expect((await call(fixture.app, 'GET', '/api/v1/auth/token', { token })).statusCode).toBe(401);
  });
});

describe('a general token keeps what the original gave it', () => {
  it('creates, disables and deletes flavors and sets job timestamps', async () => {
    await fixture.db.addJob(job(['large'], { id: 'j1' }));
    const token = await tokenOf('charm');
    const steps = [
      await call(fixture.app, 'POST', '/api/v1/flavors/large', {
        token,
        body: { platform: 'github', labels: ['large'] },
      }),
      await call(fixture.app, 'PATCH', '/api/v1/flavors/large', { token, body: { is_disabled: true } }),
      await call(fixture.app, 'DELETE', '/api/v1/flavors/large', { token }),
      await call(fixture.app, 'PATCH', '/api/v1/jobs/github/j1', {
        token,
        body: { started_at: '2026-12-01T00:00:00Z' },
      }),
    ];
    expect(steps.map((response) => response.statusCode)).toEqual([201, 204, 200, 204]);
  });
});

describe('names and labels from the API', () => {
  it.each([
    ['an escape sequence', '%1B%5B2J'],
    ['a newline', 'a%0Ab'],
    ['a right-to-left override', 'a%E2%80%AEb'],
  ])('refuses a token name with %s', async (_what, name) => {
    const response = await createToken(name);
    expect(response.statusCode).toBe(400);
    expect(response.body).toMatch(/^invalid token name: name must /);
    expect(await fixture.db.listAuthTokens()).toEqual([]);
  });

  it.each([
    ['a name with an escape sequence', '%1B%5D0%3Bpwned%07', { platform: 'github', labels: ['x'] }],
    ['65 labels', 'many', { platform: 'github', labels: Array.from({ length: 65 }, (_, i) => `l${i}`) }],
    ['a label of 256 characters', 'long', { platform: 'github', labels: ['l'.repeat(256)] }],
    ['a label with a C1 control', 'c1', { platform: 'github', labels: ['x\u009b2J'] }],
  ])('refuses a flavor with %s: 400 invalid payload', async (_what, name, body) => {
    const response = await call(fixture.app, 'POST', `/api/v1/flavors/${name}`, { body });
    expect(response.statusCode).toBe(400);
    expect(response.body).toMatch(/^invalid payload: .*(at most|must not contain control)/);
    expect(await fixture.db.listAllFlavors()).toEqual([]);
  });
});
