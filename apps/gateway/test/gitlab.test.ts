import { createHash, randomUUID } from 'node:crypto';
import { createWebhookProducer, type WebhookProducer } from '@runner-planner/queue';
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildGateway } from '../src/index.js';
import { GITLAB_TOKEN, QueueInspector, REDIS_URL, SIGNING_TOKEN, testConfig } from './support.js';

const queue = new QueueInspector();
const prefix = queue.prefix;
let producer: WebhookProducer;
/** Checks X-Gitlab-Token only. */
let app: FastifyInstance;
/** Has a signing token: requests must also carry a valid Standard Webhooks signature. */
let signing: FastifyInstance;

beforeAll(async () => {
  producer = createWebhookProducer({ redisUrl: REDIS_URL, prefix });
  app = buildGateway({
    config: testConfig(prefix, { gitlabWebhookTokens: ['old-token', GITLAB_TOKEN] }),
    producer,
    registry: new Registry(),
  });
  signing = buildGateway({
    config: testConfig(prefix, {
      gitlabWebhookTokens: ['old-token', GITLAB_TOKEN],
      gitlabWebhookSigningTokens: [SIGNING_TOKEN],
    }),
    producer,
    registry: new Registry(),
  });
  await Promise.all([app.ready(), signing.ready()]);
});

afterAll(async () => {
  await app.close();
  await signing.close();
  await producer.close();
  await queue.cleanup();
});

const jobBody = (id: number) =>
  JSON.stringify({ object_kind: 'build', build_id: id, build_status: 'pending' });

function post(headers: Record<string, string | undefined>, body = jobBody(1), target = app) {
  const sent: Record<string, string> = { 'content-type': 'application/json', 'x-gitlab-event': 'Job Hook' };
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) delete sent[name];
    else sent[name] = value;
  }
  return target.inject({ method: 'POST', url: '/webhooks/gitlab', headers: sent, payload: body });
}

function signed(body: string, id = `msg_${randomUUID()}`, secret = SIGNING_TOKEN, timestamp = new Date()) {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
    'webhook-signature': new Webhook(secret).sign(id, timestamp, body),
  };
}

describe('POST /webhooks/gitlab', () => {
  it('queues a Job Hook with the right token, keeping delivery headers but not the token', async () => {
    const uuid = randomUUID();
    const body = jobBody(10);
    const response = await post(
      {
        'x-gitlab-token': GITLAB_TOKEN,
        'x-gitlab-event-uuid': uuid,
        'x-gitlab-instance': 'https://gitlab.example.com',
      },
      body,
    );
    expect(response.statusCode).toBe(202);
    expect(response.json()).toEqual({ result: 'enqueued' });
    const job = await queue.job('gitlab', uuid);
    expect(job?.body).toBe(body);
    expect(job?.event).toBe('Job Hook');
    expect(job?.headers).toMatchObject({
      'x-gitlab-event': 'Job Hook',
      'x-gitlab-instance': 'https://gitlab.example.com',
    });
    expect(job?.headers).not.toHaveProperty('x-gitlab-token');
  });

  it('accepts any configured token', async () => {
    const response = await post({ 'x-gitlab-token': 'old-token', 'x-gitlab-event-uuid': randomUUID() });
    expect(response.statusCode).toBe(202);
  });

  it('rejects a wrong token', async () => {
    const uuid = randomUUID();
    const response = await post({ 'x-gitlab-token': `${GITLAB_TOKEN}x`, 'x-gitlab-event-uuid': uuid });
    expect(response.statusCode).toBe(401);
    expect(response.json().error).toMatch(/X-Gitlab-Token/);
    expect(response.body).not.toContain(GITLAB_TOKEN);
    expect(await queue.job('gitlab', uuid)).toBeUndefined();
  });

  it('rejects a missing token', async () => {
    const response = await post({});
    expect(response.statusCode).toBe(401);
    expect(response.json().error).toMatch(/missing X-Gitlab-Token/);
  });

  it('is off without GITLAB_TOKEN, before looking at the webhook token', async () => {
    const off = buildGateway({
      config: testConfig(prefix, { gitlabToken: undefined }),
      producer,
      registry: new Registry(),
    });
    const response = await post({ 'x-gitlab-token': GITLAB_TOKEN }, jobBody(1), off);
    await off.close();
    expect(response.statusCode).toBe(404);
    expect(response.json()).toEqual({
      error: 'GitLab webhooks are off: set GITLAB_TOKEN (and GITLAB_URL) so the worker can resolve job tags',
    });
  });

  it('is off without a webhook token', async () => {
    const off = buildGateway({
      config: testConfig(prefix, { gitlabWebhookTokens: [] }),
      producer,
      registry: new Registry(),
    });
    const response = await post({ 'x-gitlab-token': GITLAB_TOKEN }, jobBody(1), off);
    await off.close();
    expect(response.statusCode).toBe(404);
    expect(response.json().error).toMatch(/GITLAB_WEBHOOK_TOKEN/);
  });

  it('accepts a valid Standard Webhooks signature', async () => {
    const body = jobBody(20);
    const headers = signed(body);
    const response = await post({ 'x-gitlab-token': GITLAB_TOKEN, ...headers }, body, signing);
    expect(response.statusCode).toBe(202);
    expect((await queue.job('gitlab', headers['webhook-id']))?.headers).toMatchObject({
      'webhook-id': headers['webhook-id'],
      'webhook-timestamp': headers['webhook-timestamp'],
    });
    expect((await queue.job('gitlab', headers['webhook-id']))?.headers).not.toHaveProperty(
      'webhook-signature',
    );
  });

  it('rejects a Standard Webhooks signature over another body', async () => {
    const headers = signed(jobBody(21));
    const response = await post({ 'x-gitlab-token': GITLAB_TOKEN, ...headers }, jobBody(22), signing);
    expect(response.statusCode).toBe(401);
    expect(response.json().error).toMatch(/webhook-signature rejected/);
    expect(await queue.job('gitlab', headers['webhook-id'])).toBeUndefined();
  });

  it('rejects a Standard Webhooks signature made with another signing token', async () => {
    const body = jobBody(23);
    const other = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
    const response = await post(
      { 'x-gitlab-token': GITLAB_TOKEN, ...signed(body, undefined, other) },
      body,
      signing,
    );
    expect(response.statusCode).toBe(401);
  });

  it('with a signing token, refuses a request with the right X-Gitlab-Token but no signature', async () => {
    const body = jobBody(25);
    const uuid = randomUUID();
    const response = await post(
      { 'x-gitlab-token': GITLAB_TOKEN, 'x-gitlab-event-uuid': uuid },
      body,
      signing,
    );
    expect(response.statusCode).toBe(401);
    expect(response.json().error).toMatch(
      /GITLAB_WEBHOOK_SIGNING_TOKEN is set, so GitLab webhooks must be signed/,
    );
    expect(await queue.job('gitlab', uuid)).toBeUndefined();
    // Each of the three headers is required, also when the other two are right.
    for (const left of ['webhook-id', 'webhook-timestamp', 'webhook-signature'] as const) {
      const headers: Record<string, string | undefined> = { 'x-gitlab-token': GITLAB_TOKEN, ...signed(body) };
      headers[left] = undefined;
      const without = await post(headers, body, signing);
      expect(without.statusCode, left).toBe(401);
    }
  });

  it('refuses a signature whose timestamp is more than 5 minutes old or ahead', async () => {
    const body = jobBody(26);
    for (const minutes of [-6, 6]) {
      const headers = signed(body, undefined, SIGNING_TOKEN, new Date(Date.now() + minutes * 60_000));
      const response = await post({ 'x-gitlab-token': GITLAB_TOKEN, ...headers }, body, signing);
      expect(response.statusCode).toBe(401);
      expect(response.json().error).toMatch(minutes < 0 ? /timestamp too old/ : /timestamp too new/);
      expect(await queue.job('gitlab', headers['webhook-id'])).toBeUndefined();
    }
    const fresh = signed(body, undefined, SIGNING_TOKEN, new Date(Date.now() - 4 * 60_000));
    expect((await post({ 'x-gitlab-token': GITLAB_TOKEN, ...fresh }, body, signing)).statusCode).toBe(202);
  });

  it('with a signing token, deduplicates on the signed webhook-id, not the unsigned Idempotency-Key', async () => {
    const body = jobBody(27);
    const headers = signed(body);
    const first = await post(
      { 'x-gitlab-token': GITLAB_TOKEN, 'idempotency-key': `idem-${randomUUID()}`, ...headers },
      body,
      signing,
    );
    expect(first.json()).toEqual({ result: 'enqueued' });
    expect(await queue.job('gitlab', headers['webhook-id'])).toBeDefined();
    const again = await post(
      { 'x-gitlab-token': GITLAB_TOKEN, 'idempotency-key': `idem-${randomUUID()}`, ...headers },
      body,
      signing,
    );
    expect(again.statusCode).toBe(202);
    expect(again.json()).toEqual({ result: 'duplicate' });
  });

  it('queues a signed body that is not valid JSON', async () => {
    const body = '{"object_kind": "build", truncated';
    const headers = signed(body);
    const response = await post({ 'x-gitlab-token': GITLAB_TOKEN, ...headers }, body, signing);
    expect(response.statusCode).toBe(202);
    expect((await queue.job('gitlab', headers['webhook-id']))?.body).toBe(body);
  });

  it('skips signature checks when no signing token is configured', async () => {
    const body = jobBody(24);
    const headers = { ...signed(body), 'webhook-signature': 'v1,bm90IGEgc2lnbmF0dXJl' };
    const response = await post({ 'x-gitlab-token': GITLAB_TOKEN, ...headers }, body);
    expect(response.statusCode).toBe(202);
  });

  it('picks the delivery id: Idempotency-Key, then webhook-id, then X-Gitlab-Event-UUID, then the body hash', async () => {
    const key = `idem-${randomUUID()}`;
    const uuid = randomUUID();
    const body = jobBody(30);
    const all = signed(body);
    await post(
      { 'x-gitlab-token': GITLAB_TOKEN, 'idempotency-key': key, 'x-gitlab-event-uuid': uuid, ...all },
      body,
    );
    expect((await queue.job('gitlab', key))?.deliveryId).toBe(key);
    // Verified, the signed webhook-id wins.
    const signedBody = jobBody(34);
    const verified = signed(signedBody);
    await post(
      { 'x-gitlab-token': GITLAB_TOKEN, 'idempotency-key': `idem-${randomUUID()}`, ...verified },
      signedBody,
      signing,
    );
    expect((await queue.job('gitlab', verified['webhook-id']))?.deliveryId).toBe(verified['webhook-id']);

    const body2 = jobBody(31);
    const withoutKey = signed(body2);
    await post({ 'x-gitlab-token': GITLAB_TOKEN, 'x-gitlab-event-uuid': randomUUID(), ...withoutKey }, body2);
    expect(await queue.job('gitlab', withoutKey['webhook-id'])).toBeDefined();

    const uuid3 = randomUUID();
    await post({ 'x-gitlab-token': GITLAB_TOKEN, 'x-gitlab-event-uuid': uuid3 }, jobBody(32));
    expect(await queue.job('gitlab', uuid3)).toBeDefined();

    const body4 = jobBody(33);
    await post({ 'x-gitlab-token': GITLAB_TOKEN }, body4);
    expect(await queue.job('gitlab', createHash('sha256').update(body4).digest('hex'))).toBeDefined();
  });

  it('ignores events other than Job Hook', async () => {
    const uuid = randomUUID();
    const response = await post({
      'x-gitlab-token': GITLAB_TOKEN,
      'x-gitlab-event': 'Push Hook',
      'x-gitlab-event-uuid': uuid,
    });
    expect(response.statusCode).toBe(202);
    expect(response.json()).toEqual({ result: 'ignored', reason: 'event Push Hook is not handled' });
    expect(await queue.job('gitlab', uuid)).toBeUndefined();
  });

  it('refuses to start with a signing token that is not one', async () => {
    const bad = buildGateway({
      config: testConfig(prefix, { gitlabWebhookSigningTokens: ['not base64 !!'] }),
      producer,
      registry: new Registry(),
    });
    await expect(bad.ready()).rejects.toThrow(/GITLAB_WEBHOOK_SIGNING_TOKEN/);
  });
});
