import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AppProcess } from '../support/apps.js';
import { useSystem } from '../support/system.js';

const system = useSystem('e2e_sec_admin');
const ADMIN_TOKEN = `planner_v0_${randomBytes(15).toString('base64url').slice(0, 20)}`;
let planner: AppProcess;
let generalToken: string;

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

/**
 * Every admin-only route of apps/planner/src: the API routes declared with
 * `requireAuth({ adminOnly: true })` (routes/flavors.ts, routes/tokens.ts) and the bull-board
 * dashboard (dashboard.ts), its page, API and the calls that change or destroy queues.
 */
const API_ROUTES: [method: string, path: string][] = [
  ['GET', '/api/v1/flavors'],
  ['POST', '/api/v1/auth/token/intruder'],
  ['GET', '/api/v1/auth/token'],
  ['DELETE', '/api/v1/auth/token/autoscaler'],
];
const DASHBOARD_ROUTES: [method: string, path: string][] = [
  ['GET', '/admin/queues'],
  ['GET', '/admin/queues/queue/webhooks'],
  ['GET', '/admin/queues/api/queues'],
  ['GET', '/admin/queues/api/redis/stats'],
  ['GET', '/admin/queues/api/queues/webhooks/github-1'],
  ['POST', '/admin/queues/api/queues/webhooks/add'],
  ['PUT', '/admin/queues/api/queues/webhooks/retry/failed'],
  ['PUT', '/admin/queues/api/queues/webhooks/clean/completed'],
  ['PUT', '/admin/queues/api/queues/webhooks/pause'],
  ['PUT', '/admin/queues/api/queues/pause'],
  ['PUT', '/admin/queues/api/queues/webhooks/empty'],
  ['PUT', '/admin/queues/api/queues/webhooks/obliterate'],
  ['PUT', '/admin/queues/api/queues/webhooks/github-1/retry'],
  ['PUT', '/admin/queues/api/queues/webhooks/github-1/promote'],
];

/** Credentials that are not the admin token, or not presented the way the route asks for it. */
function nonAdminCredentials(): [what: string, headers: Record<string, string>, query: string][] {
  const [user, password] = ['ops', 'not-the-admin-token'];
  return [
    ['no credential', {}, ''],
    ['a general API token', { authorization: `Bearer ${generalToken}` }, ''],
    [
      'a wrong bearer token of the admin format',
      { authorization: `Bearer planner_v0_${'x'.repeat(20)}` },
      '',
    ],
    ['the admin token with a character more', { authorization: `Bearer ${ADMIN_TOKEN}x` }, ''],
    [
      'the admin token missing its last character',
      { authorization: `Bearer ${ADMIN_TOKEN.slice(0, -1)}` },
      '',
    ],
    ['Basic with a wrong password', { authorization: basic(user, password) }, ''],
    ['Basic with the admin token as user name', { authorization: basic(ADMIN_TOKEN, '') }, ''],
    ['Basic with a general token as password', { authorization: basic(user, generalToken) }, ''],
    ['Basic that is not base64', { authorization: 'Basic %%%' }, ''],
    ['the admin token without a scheme', { authorization: ADMIN_TOKEN }, ''],
    ['the admin token under another scheme', { authorization: `Token ${ADMIN_TOKEN}` }, ''],
    ['the admin token in the query string', {}, `?token=${ADMIN_TOKEN}&access_token=${ADMIN_TOKEN}`],
    ['the admin token in a cookie', { cookie: `token=${ADMIN_TOKEN}; session=${ADMIN_TOKEN}` }, ''],
    ['the admin token in other headers', { 'x-admin-token': ADMIN_TOKEN, 'x-api-key': ADMIN_TOKEN }, ''],
  ];
}

async function call(method: string, path: string, headers: Record<string, string>, query = '') {
  const body = method === 'GET' || method === 'DELETE' ? undefined : '{}';
  const response = await fetch(`${planner.url}${path}${query}`, {
    method,
    headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body }),
  });
  return { status: response.status, text: await response.text() };
}

beforeAll(async () => {
  planner = await system.start('planner', { ADMIN_TOKEN });
  const created = await call('POST', '/api/v1/auth/token/autoscaler', admin);
  expect(created.status).toBe(201);
  generalToken = (JSON.parse(created.text) as { token: string }).token;
  // Something the destructive dashboard calls would remove, were they let through.
  await system.queue.add('probe', { probe: true }, { jobId: 'github-1' });
});

describe('admin routes refuse every non-admin credential', () => {
  it('the admin token itself opens them (so the refusals below are not missing routes)', async () => {
    for (const [method, path] of API_ROUTES.filter(([method]) => method === 'GET')) {
      expect((await call(method, path, admin)).status, `${method} ${path}`).toBe(200);
    }
    for (const [method, path] of DASHBOARD_ROUTES.filter(([method]) => method === 'GET')) {
      const status = (await call(method, path, { authorization: basic('ops', ADMIN_TOKEN) })).status;
      expect(status, `${method} ${path}`).toBe(200);
    }
  });

  it.each(nonAdminCredentials().map(([what]) => [what]))(
    '%s: 400/401 on every admin API route, 401 on every dashboard route, and nothing changes',
    async (what) => {
      const [, headers, query] = nonAdminCredentials().find(([name]) => name === what) ?? [];
      for (const [method, path] of API_ROUTES) {
        const response = await call(method, path, headers ?? {}, query);
        // 400 "invalid authorization header" or 401 "unauthorized", as the original planner answered.
        expect([400, 401], `${method} ${path}: ${response.status} ${response.text}`).toContain(
          response.status,
        );
        expect(response.text).not.toContain('autoscaler');
      }
      for (const [method, path] of DASHBOARD_ROUTES) {
        const response = await call(method, path, headers ?? {}, query);
        expect(response.status, `${method} ${path}: ${response.text}`).toBe(401);
        expect(response.text).not.toContain('webhooks');
      }
      // Nothing was created, deleted, paused or emptied.
      expect(JSON.parse((await call('GET', '/api/v1/auth/token', admin)).text)).toEqual({
        names: ['autoscaler'],
      });
      expect(await system.queue.isPaused()).toBe(false);
      expect(await system.queue.getJob('github-1')).toBeDefined();
    },
  );
});
