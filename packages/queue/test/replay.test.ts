import { createTestQueuePrefix } from '@runner-planner/testkit';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createWebhookProducer,
  createWebhookWorker,
  DeadLetterError,
  type Envelope,
  WEBHOOK_QUEUE,
  type WebhookProducer,
} from '../src/index.js';

const space = createTestQueuePrefix('queue-replay');
const WINDOW_MS = 400;
let guarded: WebhookProducer;
let inspect: Queue;

beforeAll(() => {
  guarded = createWebhookProducer({
    redisUrl: space.redisUrl,
    prefix: space.prefix,
    replayWindowMs: WINDOW_MS,
  });
  inspect = new Queue(WEBHOOK_QUEUE, { connection: { url: space.redisUrl }, prefix: space.prefix });
});
afterAll(async () => {
  await guarded.close();
  await inspect.close();
  await space.cleanup();
});

let deliveries = 0;
function envelope(body: string, overrides: Partial<Envelope> = {}): Envelope {
  deliveries += 1;
  return {
    platform: 'github',
    deliveryId: `replay-${deliveries}`,
    event: 'workflow_job',
    receivedAt: new Date().toISOString(),
    headers: {},
    body,
    ...overrides,
  };
}

async function jobIds(): Promise<string[]> {
  return (await inspect.getJobs(['waiting', 'failed'])).map((job) => job.id ?? '').sort();
}

describe('producer replay window', () => {
  it('queues a body once within the window whatever the delivery id; a redelivery keeps its answer', async () => {
    const body = '{"action":"queued","workflow_job":{"id":1}}';
    const first = envelope(body);
    expect(await guarded.enqueue(first)).toBe('enqueued');
    const replays = await Promise.all(Array.from({ length: 20 }, () => guarded.enqueue(envelope(body))));
    expect(replays).toEqual(Array(20).fill('duplicate'));
    // The forge's redelivery reuses the delivery id: the same answer as without the window.
    expect(await guarded.enqueue({ ...first })).toBe('duplicate');
    expect(await jobIds()).toEqual([`github-${first.deliveryId}`]);
  });

  it('keeps bodies apart by platform and by content', async () => {
    const body = '{"object_kind":"build","build_id":2}';
    const github = envelope(body);
    const gitlab = envelope(body, { platform: 'gitlab' });
    const other = envelope(`${body} `);
    expect(await guarded.enqueue(github)).toBe('enqueued');
    expect(await guarded.enqueue(gitlab)).toBe('enqueued');
    expect(await guarded.enqueue(other)).toBe('enqueued');
  });

  it("names a body by the caller's digest when given one (the gateway passes GitHub's verified HMAC)", async () => {
    const signature = 'a'.repeat(64);
    const first = envelope('{"action":"queued","workflow_job":{"id":6}}');
    expect(await guarded.enqueue(first, { bodyDigest: signature })).toBe('enqueued');
    expect(await guarded.enqueue(envelope(first.body), { bodyDigest: signature })).toBe('duplicate');
    expect(await guarded.enqueue(envelope(first.body), { bodyDigest: 'b'.repeat(64) })).toBe('enqueued');
  });

  it('fails an add whose look-up fails as one error, leaving nothing unhandled', async () => {
    // A value of the wrong type under the body's claim fails the look-up before the add.
    const digest = 'c'.repeat(64);
    const client = await inspect.client;
    await client.hset(inspect.toKey(`replay:github:${digest}`), { not: 'a claim' });
    const unhandled: unknown[] = [];
    const keep = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', keep);
    try {
      await expect(
        guarded.enqueue(envelope('{"action":"queued","workflow_job":{"id":7}}'), { bodyDigest: digest }),
      ).rejects.toThrow(/WRONGTYPE/);
      // An unhandled rejection would surface on a later turn of the event loop, and end a gateway.
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', keep);
    }
  });

  it('queues the body again once the window has passed', async () => {
    const body = '{"action":"queued","workflow_job":{"id":3}}';
    expect(await guarded.enqueue(envelope(body))).toBe('enqueued');
    expect(await guarded.enqueue(envelope(body))).toBe('duplicate');
    await new Promise((resolve) => setTimeout(resolve, WINDOW_MS + 100));
    expect(await guarded.enqueue(envelope(body))).toBe('enqueued');
  });

  it('requeues a failed delivery redelivered under its own id within the window', async () => {
    const body = '{"action":"queued","workflow_job":{"id":4}}';
    const first = envelope(body);
    const worker = createWebhookWorker(
      { redisUrl: space.redisUrl, prefix: space.prefix, concurrency: 4 },
      async (e) => {
        if (e.deliveryId === first.deliveryId) throw new DeadLetterError('dead letter for the test');
        return 'ok';
      },
    );
    try {
      const failed = new Promise((resolve) => worker.once('failed', resolve));
      expect(await guarded.enqueue(first)).toBe('enqueued');
      await failed;
      expect(await (await inspect.getJob(`github-${first.deliveryId}`))?.getState()).toBe('failed');
      expect(await guarded.enqueue(envelope(body))).toBe('duplicate');
      expect(await guarded.enqueue({ ...first })).toBe('requeued');
    } finally {
      await worker.close();
    }
  });

  it('queues a redelivery again when its job is gone within the window (trimmed after it ended)', async () => {
    const body = '{"action":"queued","workflow_job":{"id":8}}';
    const first = envelope(body);
    expect(await guarded.enqueue(first)).toBe('enqueued');
    await inspect.remove(`github-${first.deliveryId}`);
    // The body's claim is this delivery's own: the redelivery asks for the event again.
    expect(await guarded.enqueue({ ...first })).toBe('enqueued');
    expect(await jobIds()).toContain(`github-${first.deliveryId}`);
    // Another delivery of the same body is still a replay.
    expect(await guarded.enqueue(envelope(body))).toBe('duplicate');
  });

  it('without a window (the default) queues a body again under each new delivery id', async () => {
    const plain = createWebhookProducer({ redisUrl: space.redisUrl, prefix: space.prefix });
    try {
      const body = '{"action":"queued","workflow_job":{"id":5}}';
      expect(await plain.enqueue(envelope(body))).toBe('enqueued');
      expect(await plain.enqueue(envelope(body))).toBe('enqueued');
    } finally {
      await plain.close();
    }
  });
});
