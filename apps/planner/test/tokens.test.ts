import { describe, expect, it } from 'vitest';
import { call, usePlanner } from './support.js';

const fixture = usePlanner('planner_tokens');

describe('POST /api/v1/auth/token/{name}', () => {
  it('creates a token: 201 {name, token}, base64url without padding of 32 bytes', async () => {
    const response = await call(fixture.app, 'POST', '/api/v1/auth/token/autoscaler');
    expect(response.statusCode).toBe(201);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    expect(response.headers['cache-control']).toBe('no-store');
    const body = response.json() as { name: string; token: string };
    expect(Object.keys(body).sort()).toEqual(['name', 'token']);
    expect(body.name).toBe('autoscaler');
    expect(body.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const bytes = Buffer.from(body.token, 'base64url');
    expect(bytes).toHaveLength(32);
    await expect(fixture.db.verifyAuthToken(new Uint8Array(bytes))).resolves.toBe('autoscaler');
  });

  it('hands out a token that works on the API', async () => {
    const { token } = (await call(fixture.app, 'POST', '/api/v1/auth/token/ci')).json() as { token: string };
    expect((await call(fixture.app, 'GET', '/api/v1/jobs/github', { token })).statusCode).toBe(200);
  });

  it('answers 409 when the name is taken', async () => {
    await call(fixture.app, 'POST', '/api/v1/auth/token/ci');
    const response = await call(fixture.app, 'POST', '/api/v1/auth/token/ci');
    expect(response.statusCode).toBe(409);
    expect(response.body).toBe('token already exists\n');
    expect(response.headers['content-type']).toBe('text/plain; charset=utf-8');
  });
});

describe('GET /api/v1/auth/token', () => {
  it('lists the token names, never the tokens', async () => {
    await call(fixture.app, 'POST', '/api/v1/auth/token/b');
    await call(fixture.app, 'POST', '/api/v1/auth/token/a');
    const response = await call(fixture.app, 'GET', '/api/v1/auth/token');
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ names: ['a', 'b'] });
  });

  it('answers an empty list without tokens', async () => {
    expect((await call(fixture.app, 'GET', '/api/v1/auth/token')).json()).toEqual({ names: [] });
  });
});

describe('DELETE /api/v1/auth/token/{name}', () => {
  it('deletes the token: 204, and it stops working', async () => {
    const { token } = (await call(fixture.app, 'POST', '/api/v1/auth/token/ci')).json() as { token: string };
    const response = await call(fixture.app, 'DELETE', '/api/v1/auth/token/ci');
    expect(response.statusCode).toBe(204);
    expect(response.body).toBe('');
    expect((await call(fixture.app, 'GET', '/api/v1/jobs/github', { token })).statusCode).toBe(401);
    expect((await call(fixture.app, 'GET', '/api/v1/auth/token')).json()).toEqual({ names: [] });
  });

  it('answers 204 for a token that does not exist', async () => {
    expect((await call(fixture.app, 'DELETE', '/api/v1/auth/token/nobody')).statusCode).toBe(204);
  });
});
