import { Database, migrate } from '@runner-planner/database';
import {
  createWebhookProducer,
  createWebhookWorker,
  DeadLetterError,
  type Envelope,
  type WebhookProducer,
} from '@runner-planner/queue';
import { createTestDatabase, createTestQueuePrefix } from '@runner-planner/testkit';
import { Queue, type Worker } from 'bullmq';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPlannerMetrics, type PlannerMetrics } from '../src/metrics.js';

const space = createTestQueuePrefix('planner-metrics');
let drop = async () => {};
let databaseUrl: string;
let db: Database;
let producer: WebhookProducer;
const opened: PlannerMetrics[] = [];

function envelope(deliveryId: string, body = '{}'): Envelope {
  return {
    platform: 'github',
    deliveryId,
    event: 'workflow_job',
    receivedAt: new Date().toISOString(),
    headers: {},
    body,
  };
}

function open(options: Partial<Parameters<typeof createPlannerMetrics>[0]> = {}): PlannerMetrics {
  const metrics = createPlannerMetrics({
    db,
    redisUrl: space.redisUrl,
    prefix: space.prefix,
    streams: () => 3,
    ...options,
  });
  opened.push(metrics);
  return metrics;
}

/** `name{labels} value` lines of one metric, labels as written. */
function samples(text: string, name: string): Record<string, number> {
  const found: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)$/.exec(line);
    if (match?.[1] === name) found[match[2] ?? ''] = Number(match[3]);
  }
  return found;
}

async function until(condition: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

beforeAll(async () => {
  const database = await createTestDatabase('planner_metrics');
  drop = database.drop;
  databaseUrl = database.url;
  await migrate(databaseUrl);
  db = await Database.connect(databaseUrl);
  await db.addFlavor({
    platform: 'github',
    name: 'small',
    labels: ['small'],
    priority: 1,
    isDisabled: false,
    minimumPressure: 0,
  });
  await db.addFlavor({
    platform: 'gitlab',
    name: 'gl-large',
    labels: ['large'],
    priority: 1,
    isDisabled: false,
    minimumPressure: 2,
  });
  const now = new Date();
  const job = (id: string, labels: string[], startedAt: Date | null, completedAt: Date | null, more = {}) =>
    db.addJob({ platform: 'github', id, labels, createdAt: now, startedAt, completedAt, raw: {}, ...more });
  await job('1', ['small'], null, null); // queued, assigned
  await job('2', ['small'], now, null); // running, assigned
  await job('3', ['nothing-matches'], null, null); // queued, unassigned
  await job('4', ['small'], now, now); // completed: not counted
  await job('5', ['nothing-matches'], now, null); // running, unassigned
  // Queued and unassigned, but older than the staleness window: demand no more.
  await job('6', ['nothing-matches'], null, null, { createdAt: new Date(Date.now() - 6 * 86_400_000) });
  await job('7', ['small'], null, null, { held: true }); // held: matches small, yet never assigned
  await job('g1', ['large'], null, null, { platform: 'gitlab', held: true, raw: { created: {} } });
  // Untagged, and gl-large has labels without run_untagged: nobody takes it.
  await job('g2', [], null, null, { platform: 'gitlab', raw: { pending: {} } });

  // The queue: one dead letter, then two waiting with nobody consuming.
  producer = createWebhookProducer({ redisUrl: space.redisUrl, prefix: space.prefix });
  const worker: Worker = createWebhookWorker(
    { redisUrl: space.redisUrl, prefix: space.prefix, concurrency: 1 },
    async () => {
      throw new DeadLetterError('body is not valid JSON: test');
    },
  );
  worker.on('error', () => {});
  await producer.enqueue(envelope('dead'));
  const inspect = new Queue('webhooks', { connection: { url: space.redisUrl }, prefix: space.prefix });
  await until(async () => (await inspect.getJobCounts('failed')).failed === 1, 'the dead letter');
  await worker.close();
  await producer.enqueue(envelope('waiting-1'));
  await producer.enqueue(envelope('waiting-2'));
  await inspect.close();
});

afterAll(async () => {
  await Promise.all(opened.map((metrics) => metrics.close()));
  await producer?.close();
  await db?.close();
  await space.cleanup();
  await drop();
});

describe('planner metrics', () => {
  it('report pressure, incomplete jobs, queue depth and open streams when scraped', async () => {
    const metrics = open();
    metrics.httpRequestDuration.observe(
      { route: '/api/v1/flavors', method: 'GET', status_code: '200' },
      0.01,
    );
    const text = await metrics.registry.metrics();

    expect(samples(text, 'runner_planner_pressure')).toEqual({
      '{platform="github",flavor="small"}': 2,
      '{platform="gitlab",flavor="gl-large"}': 2,
    });
    expect(samples(text, 'runner_planner_jobs')).toEqual({
      '{platform="github",state="held"}': 1,
      '{platform="github",state="queued"}': 3,
      '{platform="github",state="running"}': 2,
      '{platform="gitlab",state="held"}': 1,
      '{platform="gitlab",state="queued"}': 1,
      '{platform="gitlab",state="running"}': 0,
    });
    expect(samples(text, 'runner_planner_jobs_unassigned')).toEqual({
      '{platform="github"}': 2,
      '{platform="gitlab"}': 1,
    });
    expect(samples(text, 'runner_planner_queue_jobs')).toEqual({
      '{queue="webhooks",state="waiting"}': 2,
      '{queue="webhooks",state="active"}': 0,
      '{queue="webhooks",state="delayed"}': 0,
      '{queue="webhooks",state="failed"}': 1,
      '{queue="webhooks",state="completed"}': 0,
    });
    expect(samples(text, 'runner_planner_pressure_streams')).toEqual({ '': 3 });
    expect(
      samples(text, 'runner_planner_planner_request_duration_seconds_count')[
        '{route="/api/v1/flavors",method="GET",status_code="200"}'
      ],
    ).toBe(1);
    expect(text).toContain('runner_planner_planner_process_cpu_seconds_total');
    expect(text).toContain('runner_planner_planner_nodejs_eventloop_lag_p99_seconds');
  });

  it('follow changes on the next scrape', async () => {
    let streams = 0;
    const metrics = open({ streams: () => streams });
    await db.updateJobCompleted('github', '1', new Date());
    // Takes jobs 3 and 5 (and 6, past the window): no github demand is left unserved.
    await db.addFlavor({
      platform: 'github',
      name: 'catch-all',
      labels: ['nothing-matches'],
      priority: 0,
      isDisabled: false,
      minimumPressure: 0,
    });
    streams = 7;
    await new Promise((resolve) => setTimeout(resolve, 10));
    const text = await metrics.registry.metrics();
    expect(samples(text, 'runner_planner_pressure')['{platform="github",flavor="small"}']).toBe(1);
    expect(samples(text, 'runner_planner_pressure')['{platform="github",flavor="catch-all"}']).toBe(2);
    expect(samples(text, 'runner_planner_jobs')['{platform="github",state="queued"}']).toBe(2);
    expect(samples(text, 'runner_planner_jobs_unassigned')).toEqual({
      '{platform="github"}': 0,
      '{platform="gitlab"}': 1,
    });
    expect(samples(text, 'runner_planner_pressure_streams')).toEqual({ '': 7 });
  });

  it('reuse one count of jobs for 10 s; a planner counting afresh sees the change', async () => {
    const metrics = open();
    const before = await metrics.registry.metrics();
    await db.updateJobStarted('gitlab', 'g2', new Date());
    const after = await metrics.registry.metrics();
    expect(samples(after, 'runner_planner_jobs')).toEqual(samples(before, 'runner_planner_jobs'));
    expect(samples(after, 'runner_planner_jobs')['{platform="gitlab",state="running"}']).toBe(0);
    // A planner that did not count yet sees the start.
    const fresh = await open().registry.metrics();
    expect(samples(fresh, 'runner_planner_jobs')['{platform="gitlab",state="running"}']).toBe(1);
    expect(samples(fresh, 'runner_planner_jobs_unassigned')['{platform="gitlab"}']).toBe(1);
  });

  it('still answer, without the unreadable series, when PostgreSQL and Redis are down', async () => {
    const closedDb = await Database.connect(databaseUrl);
    await closedDb.close();
    const told: string[] = [];
    const record = (_details: object, message: string) => told.push(message);
    const metrics = open({
      db: closedDb,
      redisUrl: 'redis://:hunter2hunter2@127.0.0.1:1',
      streams: () => {
        throw new Error('hub closed');
      },
      log: { info: record, warn: record, error: record },
    });
    const started = Date.now();
    const text = await metrics.registry.metrics();
    expect(Date.now() - started).toBeLessThan(8_000);
    expect(samples(text, 'runner_planner_pressure')).toEqual({});
    expect(samples(text, 'runner_planner_jobs')).toEqual({});
    expect(samples(text, 'runner_planner_jobs_unassigned')).toEqual({});
    expect(samples(text, 'runner_planner_queue_jobs')).toEqual({});
    // A gauge without labels always has a value: it keeps the last one (none read yet here).
    expect(samples(text, 'runner_planner_pressure_streams')).toEqual({ '': 0 });
    expect(text).toContain('# TYPE runner_planner_pressure gauge');
    expect(text).toContain('runner_planner_planner_process_cpu_seconds_total');
    // Redis's refusals are told once, whatever the reconnect attempts, without the password.
    await metrics.registry.metrics();
    expect(told.filter((line) => line.startsWith('planner metrics: Redis'))).toHaveLength(1);
    expect(told[0]).toContain('ECONNREFUSED');
    expect(told.join('\n')).not.toContain('hunter2');
  });

  it('share a registry: a second planner replaces the first one’s collectors and keeps the histogram', async () => {
    const registry = new Registry();
    const first = open({ registry, streams: () => 1 });
    first.httpRequestDuration.observe({ route: '/health', method: 'GET', status_code: '200' }, 0.001);
    const second = open({ registry, streams: () => 2 });
    expect(second.httpRequestDuration).toBe(first.httpRequestDuration);
    await first.close();
    const text = await registry.metrics();
    expect(samples(text, 'runner_planner_pressure_streams')).toEqual({ '': 2 });
    expect(samples(text, 'runner_planner_jobs')['{platform="github",state="running"}']).toBe(2);
  });
});
