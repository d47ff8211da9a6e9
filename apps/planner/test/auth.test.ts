import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { Registry } from 'prom-client';
import { beforeEach, describe, expect, it } from 'vitest';
import { bearerToken, buildPlanner, decodeGeneralToken } from '../src/index.js';
import { ADMIN_TOKEN, call, flavor, generalToken, plannerConfig, usePlanner } from './support.js';

const fixture = usePlanner('planner_auth');

describe('bearerToken', () => {
  it('splits on the first space and accepts Bearer in any case', () => {
    expect(bearerToken('Bearer abc')).toBe('abc');
    expect(bearerToken('bearer abc')).toBe('abc');
    expect(bearerToken('BEARER abc')).toBe('abc');
    expect(bearerToken('Bearer  abc')).toBe(' abc');
    expect(bearerToken('Bearer a b')).toBe('a b');
  });

  it('refuses missing, one-part and non-Bearer headers', () => {
    expect(bearerToken(undefined)).toBeUndefined();
    expect(bearerToken('')).toBeUndefined();
    expect(bearerToken('Bearer')).toBeUndefined();
    expect(bearerToken('Basic dXNlcjpwYXNz')).toBeUndefined();
    expect(bearerToken('Token abc')).toBeUndefined();
  });
});

describe('decodeGeneralToken', () => {
  it('takes 43 base64url characters without padding for 32 bytes', () => {
    const bytes = randomBytes(32);
    expect(decodeGeneralToken(bytes.toString('base64url'))).toEqual(new Uint8Array(bytes));
  });

  it('refuses other lengths, padding and other alphabets', () => {
    const bytes = randomBytes(32);
    expect(decodeGeneralToken(randomBytes(16).toString('base64url'))).toBeUndefined();
    expect(decodeGeneralToken(randomBytes(33).toString('base64url'))).toBeUndefined();
    expect(decodeGeneralToken(`${bytes.toString('base64url')}=`)).toBeUndefined();
    expect(
      decodeGeneralToken(bytes.toString('base64').replace(/=+$/, '').replace(/^./, '+')),
    ).toBeUndefined();
    expect(decodeGeneralToken('')).toBeUndefined();
  });
});

interface Route {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  url: string;
  body?: unknown;
  /** Status with an accepted token. */
  ok: number;
}

const ADMIN_ONLY: Route[] = [
  { method: 'GET', url: '/api/v1/flavors', ok: 200 },
  { method: 'POST', url: '/api/v1/auth/token/new-token', ok: 201 },
  { method: 'GET', url: '/api/v1/auth/token', ok: 200 },
  { method: 'DELETE', url: '/api/v1/auth/token/someone', ok: 204 },
];

const ANY_TOKEN: Route[] = [
  { method: 'POST', url: '/api/v1/flavors/created', body: { platform: 'github' }, ok: 201 },
  { method: 'GET', url: '/api/v1/flavors/small', ok: 200 },
  { method: 'PATCH', url: '/api/v1/flavors/small', body: { is_disabled: true }, ok: 204 },
  { method: 'DELETE', url: '/api/v1/flavors/small', ok: 200 },
  { method: 'GET', url: '/api/v1/flavors/small/pressure', ok: 200 },
  { method: 'GET', url: '/api/v1/jobs/github', ok: 200 },
  { method: 'GET', url: '/api/v1/jobs/github/1', ok: 404 },
  { method: 'PATCH', url: '/api/v1/jobs/github/1', body: { started_at: '2026-01-01T00:00:00Z' }, ok: 404 },
  { method: 'GET', url: '/api/jobs/github/1/why', ok: 404 },
];

let general: string;
let deleted: string;

beforeEach(async () => {
  await fixture.db.addFlavor(flavor('small'));
  general = await generalToken(fixture.db, 'ci');
  deleted = await generalToken(fixture.db, 'gone');
  await fixture.db.deleteAuthToken('gone');
});

function expectUnauthorized(response: {
  statusCode: number;
  body: string;
  headers: Record<string, unknown>;
}) {
  expect(response.statusCode).toBe(401);
  expect(response.body).toBe('unauthorized\n');
  expect(response.headers['www-authenticate']).toBe('Bearer');
  expect(response.headers['content-type']).toBe('text/plain; charset=utf-8');
}

function expectMalformed(response: { statusCode: number; body: string; headers: Record<string, unknown> }) {
  expect(response.statusCode).toBe(400);
  expect(response.body).toBe('invalid authorization header\n');
  expect(response.headers['content-type']).toBe('text/plain; charset=utf-8');
}

const wrongTokens = () => ({
  'a deleted token': deleted,
  'an unknown token': randomBytes(32).toString('base64url'),
  'a token of the wrong length': randomBytes(24).toString('base64url'),
  'a token with padding': `${randomBytes(32).toString('base64url')}=`,
  'an admin-like token that is not the admin token': 'planner_v0_aaaaaaaaaaaaaaaaaaaa',
  'the admin token with a space before it': ` ${ADMIN_TOKEN}`,
});

const malformedHeaders: Record<string, string | null> = {
  'no Authorization header': null,
  'an empty header': '',
  '"Bearer" alone': 'Bearer',
  'a Basic header': 'Basic x',
  'another scheme': `Token ${ADMIN_TOKEN}`,
  'the token alone': ADMIN_TOKEN,
};

describe.each(ADMIN_ONLY)('admin-only $method $url', (route) => {
  const send = (options: { token?: string | null; authorization?: string }) =>
    call(fixture.app, route.method, route.url, { ...options, body: route.body });

  it('accepts the admin token', async () => {
    expect((await send({})).statusCode).toBe(route.ok);
  });

  it('accepts "bearer" in lower case', async () => {
    expect((await send({ authorization: `bearer ${ADMIN_TOKEN}` })).statusCode).toBe(route.ok);
  });

  it('answers 401 to a valid general token (only the admin token counts here)', async () => {
    expectUnauthorized(await send({ token: general }));
  });

  it.each(Object.keys(wrongTokens()))('answers 401 to %s', async (which) => {
    expectUnauthorized(await send({ token: wrongTokens()[which as keyof ReturnType<typeof wrongTokens>] }));
  });

  it.each(Object.entries(malformedHeaders))('answers 400 to %s', async (_which, header) => {
    expectMalformed(await send(header === null ? { token: null } : { authorization: header }));
  });
});

describe.each(ANY_TOKEN)('$method $url', (route) => {
  const send = (options: { token?: string | null; authorization?: string }) =>
    call(fixture.app, route.method, route.url, { ...options, body: route.body });

  it('accepts the admin token', async () => {
    expect((await send({})).statusCode).toBe(route.ok);
  });

  it('accepts a general token, with "bearer" in any case', async () => {
    expect((await send({ token: general })).statusCode).toBe(route.ok);
  });

  it('accepts "BEARER" in upper case', async () => {
    expect((await send({ authorization: `BEARER ${general}` })).statusCode).toBe(route.ok);
  });

  it.each(Object.keys(wrongTokens()))('answers 401 to %s', async (which) => {
    expectUnauthorized(await send({ token: wrongTokens()[which as keyof ReturnType<typeof wrongTokens>] }));
  });

  it.each(Object.entries(malformedHeaders))('answers 400 to %s', async (_which, header) => {
    expectMalformed(await send(header === null ? { token: null } : { authorization: header }));
  });
});

describe('authentication order and secrecy', () => {
  it('checks the token before reading the body', async () => {
    const noAuth = await call(fixture.app, 'POST', '/api/v1/flavors/x', { token: null, body: '{not json' });
    expectMalformed(noAuth);
    const wrong = await call(fixture.app, 'POST', '/api/v1/flavors/x', {
      token: randomBytes(32).toString('base64url'),
      body: '{not json',
    });
    expectUnauthorized(wrong);
  });

  it('leaves /health and /metrics open', async () => {
    expect((await call(fixture.app, 'GET', '/health', { token: null })).statusCode).toBe(200);
    expect((await call(fixture.app, 'GET', '/metrics', { token: null })).statusCode).toBe(200);
  });

  it('never writes a token to the log', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const app = buildPlanner({
      config: plannerConfig(fixture.url, fixture.prefix, { LOG_LEVEL: 'trace' }),
      db: fixture.db,
      registry: new Registry(),
      logger: { level: 'trace', stream: sink },
      dashboard: false,
    });
    try {
      const created = await call(app, 'POST', '/api/v1/auth/token/logged');
      const { token } = created.json() as { token: string };
      await call(app, 'GET', '/api/v1/flavors/small', { token });
      await call(app, 'GET', '/api/v1/flavors/small', { token: `${token.slice(1)}x` });
      await call(app, 'GET', '/api/v1/flavors', { authorization: `Basic ${ADMIN_TOKEN}` });
      const log = lines.join('');
      expect(log).toContain('request completed');
      expect(log).not.toContain(token);
      expect(log).not.toContain(ADMIN_TOKEN);
    } finally {
      await app.close();
    }
  });
});
