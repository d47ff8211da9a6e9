import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AppProcess } from '../support/apps.js';
import { useSystem } from '../support/system.js';

/**
 * What one request or one token could get from the built planner (run as a process), and what
 * it gets now: /metrics without a credential, job lists of any size with every payload, a token
 * meant for reading that deletes flavors, names that write escape sequences to the terminal of
 * whoever lists them.
 */
const system = useSystem('e2e_sec_access');
const ADMIN_TOKEN = `planner_v0_${randomBytes(15).toString('base64url').slice(0, 20)}`;
const METRICS_TOKEN = randomBytes(24).toString('base64url');
const CLI = fileURLToPath(new URL('../../apps/cli/dist/main.js', import.meta.url));
const ESC = '\u001b';
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

/** METRICS_TOKEN unset: the default. */
let planner: AppProcess;
/** METRICS_TOKEN set, as the deployment files do. */
let guarded: AppProcess;

beforeAll(async () => {
  [planner, guarded] = await Promise.all([
    system.start('planner', { ADMIN_TOKEN }),
    system.start('planner', { ADMIN_TOKEN, METRICS_TOKEN }),
  ]);
  await system.db.addFlavor({
    platform: 'github',
    name: 'secret-flavor',
    labels: ['gpu'],
    priority: 0,
    isDisabled: false,
    minimumPressure: 3,
  });
  for (const id of ['1', '2', '3']) {
    await system.db.addJob({
      platform: 'github',
      id,
      labels: ['gpu'],
      createdAt: new Date(),
      startedAt: null,
      completedAt: null,
      raw: { queued: { workflow_job: { id: Number(id), steps: 'x'.repeat(10_000) } } },
    });
  }
});

const collections = (text: string) =>
  Number(/^runner_planner_planner_metrics_collections_total (\d+)$/m.exec(text)?.[1]);

describe('/metrics', () => {
  it('names no flavor to a scrape without credential; with METRICS_TOKEN set, answers it 401', async () => {
    const open = await fetch(`${planner.url}/metrics`);
    expect(open.status).toBe(200);
    const text = await open.text();
    expect(text).not.toContain('secret-flavor');
    expect(text).toContain('runner_planner_jobs');

    const refused = await fetch(`${guarded.url}/metrics`);
    expect([refused.status, await refused.text()]).toEqual([401, 'unauthorized\n']);
    const scraped = await fetch(`${guarded.url}/metrics`, {
      headers: { authorization: `Bearer ${METRICS_TOKEN}` },
    });
    expect(await scraped.text()).toMatch(
      /^runner_planner_pressure\{platform="github",flavor="secret-flavor"\} 3$/m,
    );
  });

  it('reads PostgreSQL and Redis once for a flood of 100 scrapes', async () => {
    const before = collections(await (await fetch(`${planner.url}/metrics`)).text());
    const flood = await Promise.all(
      Array.from({ length: 100 }, async () => {
        const response = await fetch(`${planner.url}/metrics`);
        return collections(await response.text());
      }),
    );
    // Within METRICS_CACHE_SECONDS (5 s) of the first scrape: every answer is that collection.
    expect(Math.max(...flood) - before).toBeLessThanOrEqual(1);
  });
});

describe('job lists', () => {
  it('refuse a limit over 1,000, leave payloads out unless raw=true, and take 100 at most with them', async () => {
    const get = (query: string) => fetch(`${planner.url}/api/v1/jobs/github${query}`, { headers: admin });
    const huge = await get('?limit=10000');
    expect(huge.status).toBe(400);
    expect(await huge.text()).toContain('from 0 to 1000');

    const plain = (await (await get('')).json()) as Record<string, unknown>[];
    expect(plain.map((job) => job.id)).toEqual(['1', '2', '3']);
    expect(plain.some((job) => 'raw' in job)).toBe(false);

    expect((await get('?raw=true&limit=1000')).status).toBe(400);
    const withRaw = (await (await get('?raw=true')).json()) as Record<string, unknown>[];
    expect(withRaw[0]?.raw).toEqual({ queued: { workflow_job: { id: 1, steps: 'x'.repeat(10_000) } } });
  });
});

describe('read-only tokens', () => {
  it('read pressure and jobs, and are refused 403 any change', async () => {
    const created = await fetch(`${planner.url}/api/v1/auth/token/autoscaler`, {
      method: 'POST',
      headers: admin,
      body: '{"scope": "read-only"}',
    });
    expect(created.status).toBe(201);
    const { token } = (await created.json()) as { token: string };
    const headers = { authorization: `Bearer ${token}` };
    const pressure = await fetch(`${planner.url}/api/v1/flavors/secret-flavor/pressure`, { headers });
    expect(await pressure.json()).toEqual({ 'secret-flavor': 3 });

    const attempts = await Promise.all([
      fetch(`${planner.url}/api/v1/flavors/secret-flavor`, { method: 'DELETE', headers }),
      fetch(`${planner.url}/api/v1/flavors/secret-flavor`, {
        method: 'PATCH',
        headers,
        body: '{"is_disabled": true}',
      }),
      fetch(`${planner.url}/api/v1/flavors/mine`, {
        method: 'POST',
        headers,
        body: '{"platform": "github", "labels": ["gpu"], "priority": 100}',
      }),
      fetch(`${planner.url}/api/v1/jobs/github/1`, {
        method: 'PATCH',
        headers,
        body: '{"completed_at": "2026-12-01T00:00:00Z"}',
      }),
    ]);
    expect(attempts.map((response) => response.status)).toEqual([403, 403, 403, 403]);
    expect(await attempts[0]?.text()).toBe('forbidden: read-only token\n');
    expect(await system.db.getFlavor('secret-flavor')).toMatchObject({ isDisabled: false });
  });
});

describe('control characters', () => {
  it('are refused in names by the API, and printed escaped by the CLI', async () => {
    const flavor = await fetch(`${planner.url}/api/v1/flavors/${encodeURIComponent(`${ESC}[2Jevil`)}`, {
      method: 'POST',
      headers: admin,
      body: '{"platform": "github", "labels": ["gpu"]}',
    });
    expect([flavor.status, await flavor.text()]).toEqual([
      400,
      'invalid payload: name must not contain control or format characters\n',
    ]);
    const token = await fetch(
      `${planner.url}/api/v1/auth/token/${encodeURIComponent(`ci${ESC}]0;x\u0007`)}`,
      {
        method: 'POST',
        headers: admin,
      },
    );
    expect(token.status).toBe(400);

    // Job labels and ids come from forge payloads, which a repository's workflows shape.
    await system.db.addJob({
      platform: 'github',
      id: `9${ESC}[2J`,
      labels: [`gpu${ESC}]0;pwned\u0007`],
      createdAt: new Date(),
      startedAt: null,
      completedAt: null,
      raw: {},
    });
    const jobs = await promisify(execFile)(process.execPath, [CLI, 'jobs', 'list'], {
      env: { PATH: process.env.PATH ?? '', DATABASE_URL: system.databaseUrl },
    });
    expect(jobs.stdout).not.toContain(ESC);
    expect(jobs.stdout).toContain('9\\u001b[2J');
    expect(jobs.stdout).toContain('gpu\\u001b]0;pwned\\u0007');
  });
});
