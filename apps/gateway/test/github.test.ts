import { createHash } from 'node:crypto';
import { createWebhookProducer, type WebhookProducer } from '@runner-planner/queue';
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildGateway } from '../src/index.js';
import {
  GITHUB_OLD_SECRET,
  GITHUB_SECRET,
  githubSignature,
  QueueInspector,
  REDIS_URL,
  testConfig,
} from './support.js';

const queue = new QueueInspector();
const prefix = queue.prefix;
let producer: WebhookProducer;
let app: FastifyInstance;
let registry: Registry;
let sequence = 0;

const BODY_LIMIT = 4096;

beforeAll(async () => {
  producer = createWebhookProducer({ redisUrl: REDIS_URL, prefix });
  registry = new Registry();
  app = buildGateway({
    config: testConfig(prefix, { gatewayBodyLimitBytes: BODY_LIMIT }),
    producer,
    registry,
  });
  await app.ready();
});

afterAll(async () => {
  await app.close();
  await producer.close();
  await queue.cleanup();
});

function nextDelivery(): string {
  sequence += 1;
  return `gh-delivery-${sequence}-${Date.now()}`;
}

interface Delivery {
  body?: string;
  event?: string;
  delivery?: string | null;
  signature?: string | null;
  contentType?: string;
  secret?: string;
}

function post(delivery: Delivery = {}) {
  const body = delivery.body ?? JSON.stringify({ action: 'queued', workflow_job: { id: 1, labels: ['x'] } });
  const headers: Record<string, string> = {
    'content-type': delivery.contentType ?? 'application/json',
    'x-github-event': delivery.event ?? 'workflow_job',
    'x-github-hook-id': '42',
    'user-agent': 'GitHub-Hookshot/test',
  };
  if (delivery.delivery !== null) headers['x-github-delivery'] = delivery.delivery ?? nextDelivery();
  if (delivery.signature !== null) {
    headers['x-hub-signature-256'] =
      delivery.signature ?? githubSignature(delivery.secret ?? GITHUB_SECRET, body);
  }
  return app.inject({ method: 'POST', url: '/webhooks/github', headers, payload: body });
}

describe('POST /webhooks/github', () => {
  it('queues a signed workflow_job with the exact body and no signature header', async () => {
    const id = nextDelivery();
    // Whitespace and key order must survive: the worker gets the bytes that were signed.
    const body = '{ "action":"queued",  "workflow_job": {"id": 7, "name": "caf\u00e9 \u2603"} }\n';
    const response = await post({ delivery: id, body });

    expect(response.statusCode).toBe(202);
    expect(response.json()).toEqual({ result: 'enqueued' });
    const job = await queue.job('github', id);
    expect(job).toBeDefined();
    expect(job?.body).toBe(body);
    expect(job?.platform).toBe('github');
    expect(job?.event).toBe('workflow_job');
    expect(job?.deliveryId).toBe(id);
    expect(Number.isNaN(Date.parse(job?.receivedAt ?? ''))).toBe(false);
    expect(job?.headers).toMatchObject({
      'x-github-event': 'workflow_job',
      'x-github-delivery': id,
      'x-github-hook-id': '42',
      'content-type': 'application/json',
      'user-agent': 'GitHub-Hookshot/test',
    });
    expect(job?.headers).not.toHaveProperty('x-hub-signature-256');
  });

  it('rejects a wrong signature', async () => {
    const id = nextDelivery();
    const response = await post({ delivery: id, signature: `sha256=${'0'.repeat(64)}` });
    expect(response.statusCode).toBe(401);
    expect(response.json().error).toMatch(/does not match/);
    expect(await queue.job('github', id)).toBeUndefined();
  });

  it('rejects a request without a signature', async () => {
    const response = await post({ signature: null });
    expect(response.statusCode).toBe(401);
    expect(response.json().error).toMatch(/missing X-Hub-Signature-256/);
  });

  it('rejects a sha1 signature', async () => {
    const body = '{"action":"queued"}';
    const sha1 = `sha1=${createHash('sha1').update(body).digest('hex')}`;
    const response = await post({ body, signature: sha1 });
    expect(response.statusCode).toBe(401);
    expect(response.json().error).toMatch(/sha256=/);
  });

  it('rejects a body changed by one byte after signing', async () => {
    const body = '{"action":"queued","workflow_job":{"id":1}}';
    const response = await post({
      body: body.replace('1', '2'),
      signature: githubSignature(GITHUB_SECRET, body),
    });
    expect(response.statusCode).toBe(401);
  });

  it('accepts the second, rotated secret', async () => {
    const response = await post({ secret: GITHUB_OLD_SECRET });
    expect(response.statusCode).toBe(202);
    expect(response.json()).toEqual({ result: 'enqueued' });
  });

  it('rejects a secret that is not configured, without echoing any secret', async () => {
    const response = await post({ secret: 'some-other-secret' });
    expect(response.statusCode).toBe(401);
    expect(response.body).not.toContain(GITHUB_SECRET);
    expect(response.body).not.toContain(GITHUB_OLD_SECRET);
  });

  it('answers a ping with pong and queues nothing', async () => {
    const id = nextDelivery();
    const response = await post({
      event: 'ping',
      delivery: id,
      body: '{"zen":"Keep it logically awesome."}',
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ result: 'pong' });
    expect(await queue.job('github', id)).toBeUndefined();
  });

  it('ignores other events without queueing them', async () => {
    const id = nextDelivery();
    const response = await post({ event: 'push', delivery: id });
    expect(response.statusCode).toBe(202);
    expect(response.json()).toEqual({ result: 'ignored', reason: 'event push is not handled' });
    expect(await queue.job('github', id)).toBeUndefined();
  });

  it('reports a redelivery of a queued delivery as duplicate and keeps one job', async () => {
    const id = nextDelivery();
    const before = (await queue.waiting()).length;
    const first = await post({ delivery: id });
    const second = await post({ delivery: id });
    expect(first.json()).toEqual({ result: 'enqueued' });
    expect(second.statusCode).toBe(202);
    expect(second.json()).toEqual({ result: 'duplicate' });
    const waiting = await queue.waiting();
    expect(waiting.length).toBe(before + 1);
    expect(waiting.filter((jobId) => jobId === `github-${id}`)).toHaveLength(1);
  });

  it('uses the sha256 of the body as delivery id when X-GitHub-Delivery is missing', async () => {
    const body = '{"action":"completed","workflow_job":{"id":99}}';
    const response = await post({ delivery: null, body });
    expect(response.statusCode).toBe(202);
    const job = await queue.job('github', createHash('sha256').update(body).digest('hex'));
    expect(job?.body).toBe(body);
  });

  it('refuses a body over the limit with 413 and counts it', async () => {
    const body = JSON.stringify({ padding: 'x'.repeat(BODY_LIMIT) });
    const response = await post({ body });
    expect(response.statusCode).toBe(413);
    expect(response.json().error).toMatch(/GATEWAY_BODY_LIMIT/);
    const metrics = await registry.metrics();
    expect(metrics).toMatch(
      /runner_planner_webhooks_rejected_total\{platform="github",reason="too_large"\} 1/,
    );
  });

  it('queues a correctly signed body that is not valid JSON', async () => {
    const id = nextDelivery();
    const body = '{"action": "queued", oops';
    const response = await post({ delivery: id, body });
    expect(response.statusCode).toBe(202);
    expect((await queue.job('github', id))?.body).toBe(body);
  });

  it('queues a correctly signed form-encoded delivery as received', async () => {
    const id = nextDelivery();
    const body = `payload=${encodeURIComponent('{"action":"queued"}')}`;
    const response = await post({ delivery: id, body, contentType: 'application/x-www-form-urlencoded' });
    expect(response.statusCode).toBe(202);
    const job = await queue.job('github', id);
    expect(job?.body).toBe(body);
    expect(job?.headers['content-type']).toBe('application/x-www-form-urlencoded');
  });

  it('answers 404 with a hint when no secret is configured', async () => {
    const off = buildGateway({
      config: testConfig(prefix, { githubWebhookSecrets: [] }),
      producer,
      registry: new Registry(),
    });
    const response = await off.inject({
      method: 'POST',
      url: '/webhooks/github',
      headers: { 'content-type': 'application/json', 'x-github-event': 'workflow_job' },
      payload: '{}',
    });
    await off.close();
    expect(response.statusCode).toBe(404);
    expect(response.json().error).toMatch(/GITHUB_WEBHOOK_SECRET/);
  });
});
