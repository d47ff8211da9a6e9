import { createWebhookProducer, type WebhookProducer } from '@runner-planner/queue';
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildGateway } from '../src/index.js';
import {
  GITHUB_SECRET,
  GITLAB_TOKEN,
  githubSignature,
  QueueInspector,
  REDIS_URL,
  testConfig,
} from './support.js';

const queue = new QueueInspector();
const prefix = queue.prefix;
let producer: WebhookProducer;
let app: FastifyInstance;
let unreachable: WebhookProducer;
let offline: FastifyInstance;

beforeAll(async () => {
  producer = createWebhookProducer({ redisUrl: REDIS_URL, prefix });
  app = buildGateway({ config: testConfig(prefix), producer, registry: new Registry() });
  // Nothing listens on port 1: every Redis command fails at once.
  unreachable = createWebhookProducer({ redisUrl: 'redis://127.0.0.1:1', prefix });
  offline = buildGateway({ config: testConfig(prefix), producer: unreachable, registry: new Registry() });
  await Promise.all([app.ready(), offline.ready()]);
});

afterAll(async () => {
  await Promise.all([app.close(), offline.close()]);
  await Promise.all([producer.close(), unreachable.close()]);
  await queue.cleanup();
});

function githubJob(
  target: FastifyInstance,
  delivery: string,
  event = 'workflow_job',
  secret = GITHUB_SECRET,
) {
  const body = JSON.stringify({ action: 'queued', delivery });
  return target.inject({
    method: 'POST',
    url: '/webhooks/github',
    headers: {
      'content-type': 'application/json',
      'x-github-event': event,
      'x-github-delivery': delivery,
      'x-hub-signature-256': githubSignature(secret, body),
    },
    payload: body,
  });
}

describe('health and readiness', () => {
  it('reports the process alive', async () => {
    const response = await app.inject({ method: 'GET', url: '/health' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ok' });
  });

  it('is ready when Redis answers', async () => {
    const response = await app.inject({ method: 'GET', url: '/ready' });
    expect(response.statusCode).toBe(200);
  });

  it('is not ready when Redis does not answer', async () => {
    const response = await offline.inject({ method: 'GET', url: '/ready' });
    expect(response.statusCode).toBe(503);
  });
});

describe('queue outage', () => {
  it('answers 503 so the forge records a failed delivery', async () => {
    const response = await githubJob(offline, 'outage-1');
    expect(response.statusCode).toBe(503);
    expect(response.json()).toEqual({ error: 'queue unavailable, retry later' });
  });
});

describe('unknown routes', () => {
  it('answers 404 with an error body', async () => {
    const response = await app.inject({ method: 'GET', url: '/webhooks/bitbucket' });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toHaveProperty('error');
  });
});

describe('GET /metrics', () => {
  it('counts received, enqueued, ignored and rejected webhooks with their labels', async () => {
    await githubJob(app, 'metrics-1');
    await githubJob(app, 'metrics-1');
    await githubJob(app, 'metrics-2', 'push');
    await githubJob(app, 'metrics-3', 'workflow_job', 'wrong-secret');
    await app.inject({
      method: 'POST',
      url: '/webhooks/gitlab',
      headers: { 'content-type': 'application/json', 'x-gitlab-event': 'Job Hook', 'x-gitlab-token': 'nope' },
      payload: '{}',
    });
    await app.inject({
      method: 'POST',
      url: '/webhooks/gitlab',
      headers: {
        'content-type': 'application/json',
        'x-gitlab-event': 'Job Hook',
        'x-gitlab-token': GITLAB_TOKEN,
        'x-gitlab-event-uuid': 'metrics-gitlab-1',
      },
      payload: '{"object_kind":"build"}',
    });

    const response = await app.inject({ method: 'GET', url: '/metrics' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/plain/);
    const text = response.body;
    expect(text).toContain(
      'runner_planner_webhooks_received_total{platform="github",event="workflow_job"} 2',
    );
    expect(text).toContain('runner_planner_webhooks_received_total{platform="github",event="push"} 1');
    expect(text).toContain(
      'runner_planner_webhooks_enqueued_total{platform="github",event="workflow_job",result="enqueued"} 1',
    );
    expect(text).toContain(
      'runner_planner_webhooks_enqueued_total{platform="github",event="workflow_job",result="duplicate"} 1',
    );
    expect(text).toContain(
      'runner_planner_webhooks_enqueued_total{platform="gitlab",event="Job Hook",result="enqueued"} 1',
    );
    expect(text).toContain('runner_planner_webhooks_ignored_total{platform="github",event="push"} 1');
    expect(text).toContain(
      'runner_planner_webhooks_rejected_total{platform="github",reason="bad_signature"} 1',
    );
    expect(text).toContain('runner_planner_webhooks_rejected_total{platform="gitlab",reason="bad_token"} 1');
    expect(text).toMatch(
      /runner_planner_gateway_request_duration_seconds_count\{route="\/webhooks\/github",method="POST",status_code="202"\} 3/,
    );
    expect(text).toContain('runner_planner_process_cpu_user_seconds_total');
  });

  it('counts deliveries refused during a queue outage', async () => {
    const registry = new Registry();
    const gateway = buildGateway({ config: testConfig(prefix), producer: unreachable, registry });
    await githubJob(gateway, 'outage-2');
    await gateway.close();
    expect(await registry.metrics()).toContain(
      'runner_planner_webhooks_rejected_total{platform="github",reason="queue_unavailable"} 1',
    );
  });

  it('can share one registry between two gateways', async () => {
    const registry = new Registry();
    const first = buildGateway({ config: testConfig(prefix), producer, registry });
    const second = buildGateway({ config: testConfig(prefix), producer, registry });
    await Promise.all([first.ready(), second.ready()]);
    await Promise.all([first.close(), second.close()]);
  });
});
