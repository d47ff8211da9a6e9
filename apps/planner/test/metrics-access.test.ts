import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPlanner } from '../src/index.js';
import { flavor, plannerConfig, useDatabase } from './support.js';

const fixture = useDatabase('planner_metrics_access');
const METRICS_TOKEN = 'prometheus-scrape-token-1';
/** METRICS_TOKEN set, answers cached 5 s (the default). */
let guarded: FastifyInstance;
/** No METRICS_TOKEN; every scrape not overlapping another collects (METRICS_CACHE_SECONDS=0). */
let open: FastifyInstance;

beforeAll(async () => {
  guarded = buildPlanner({
    config: plannerConfig(fixture.url, fixture.prefix, { METRICS_TOKEN }),
    db: fixture.db,
    registry: new Registry(),
    dashboard: false,
  });
  open = buildPlanner({
    config: plannerConfig(fixture.url, fixture.prefix, { METRICS_CACHE_SECONDS: '0' }),
    db: fixture.db,
    registry: new Registry(),
    dashboard: false,
  });
  await Promise.all([guarded.ready(), open.ready()]);
});

afterAll(async () => {
  await Promise.all([guarded?.close(), open?.close()]);
});

const scrape = (app: FastifyInstance, authorization?: string) =>
  app.inject({
    method: 'GET',
    url: '/metrics',
    headers: authorization === undefined ? {} : { authorization },
  });

function collections(text: string): number {
  const match = /^runner_planner_planner_metrics_collections_total (\d+)$/m.exec(text);
  if (match === null) throw new Error('no collections counter');
  return Number(match[1]);
}

describe('/metrics without METRICS_TOKEN', () => {
  it('is open, and names no flavor: the per-flavor series are left out', async () => {
    await fixture.db.addFlavor(flavor('secret-flavor', { minimumPressure: 2 }));
    const response = await scrape(open);
    expect(response.statusCode).toBe(200);
    expect(response.body).not.toContain('secret-flavor');
    expect(response.body).not.toMatch(/^runner_planner_pressure\{/m);
    expect(response.body).not.toContain('github_runner_planner_flavor_pressure');
    // Everything else is there.
    expect(response.body).toMatch(/^runner_planner_jobs\{platform="github",state="queued"\} 0$/m);
    expect(response.body).toMatch(/^runner_planner_pressure_streams 0$/m);
    expect(response.body).toContain('runner_planner_planner_process_cpu_seconds_total');
  });
});

describe('/metrics with METRICS_TOKEN', () => {
  it.each([
    ['no credential', undefined],
    ['a wrong token', `Bearer ${METRICS_TOKEN}x`],
    ['the token under another scheme', `Basic ${METRICS_TOKEN}`],
    ['the admin token', 'Bearer planner_v0_test-admin-token_001'],
  ])('answers 401 to %s', async (_what, authorization) => {
    const response = await scrape(guarded, authorization);
    expect([response.statusCode, response.body]).toEqual([401, 'unauthorized\n']);
    expect(response.headers['www-authenticate']).toBe('Bearer');
  });

  it('shows every series, flavors included, to the token', async () => {
    await fixture.db.addFlavor(flavor('secret-flavor', { minimumPressure: 2 }));
    const response = await scrape(guarded, `Bearer ${METRICS_TOKEN}`);
    expect(response.statusCode).toBe(200);
    expect(response.body).toMatch(/^runner_planner_pressure\{platform="github",flavor="secret-flavor"\} 2$/m);
    expect(response.body).toMatch(
      /^github_runner_planner_flavor_pressure\{platform="github",flavor="secret-flavor"\} 2$/m,
    );
  });
});

describe('scrape floods', () => {
  it('collect once for 200 scrapes at once, and reuse the answer within METRICS_CACHE_SECONDS', async () => {
    const before = collections((await scrape(guarded, `Bearer ${METRICS_TOKEN}`)).body);
    const flood = await Promise.all(
      Array.from({ length: 200 }, () => scrape(guarded, `Bearer ${METRICS_TOKEN}`)),
    );
    expect(new Set(flood.map((response) => response.statusCode))).toEqual(new Set([200]));
    // The first scrape's answer is still fresh (5 s): no new collection at all.
    expect(new Set(flood.map((response) => collections(response.body)))).toEqual(new Set([before]));
  });

  it('share one collection among overlapping scrapes even with no cache', async () => {
    const before = collections((await scrape(open)).body);
    const flood = await Promise.all(Array.from({ length: 50 }, () => scrape(open)));
    const counts = new Set(flood.map((response) => collections(response.body)));
    // Overlapping scrapes share the collection in flight; a scrape after it is a new one.
    expect(Math.max(...counts) - before).toBeLessThanOrEqual(2);
    expect(collections((await scrape(open)).body)).toBeGreaterThan(Math.max(...counts));
  });
});
