import { createTestQueuePrefix } from '@runner-planner/testkit';
import { Queue, type Worker } from 'bullmq';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createWebhookProducer,
  createWebhookWorker,
  DeadLetterError,
  type Envelope,
  QueueUnavailableError,
  WEBHOOK_QUEUE,
  type WebhookProducer,
} from '../src/index.js';

const queuePrefix = createTestQueuePrefix('queue');
let producer: WebhookProducer;
let inspect: Queue;
const workers: Worker[] = [];

beforeAll(() => {
  producer = createWebhookProducer({ redisUrl: queuePrefix.redisUrl, prefix: queuePrefix.prefix });
  inspect = new Queue(WEBHOOK_QUEUE, {
    connection: { url: queuePrefix.redisUrl },
    prefix: queuePrefix.prefix,
  });
});
afterEach(async () => {
  await Promise.all(workers.splice(0).map((worker) => worker.close()));
  await inspect.obliterate({ force: true });
});
afterAll(async () => {
  await producer.close();
  await inspect.close();
  await queuePrefix.cleanup();
});

let deliveries = 0;
function envelope(overrides: Partial<Envelope> = {}): Envelope {
  deliveries += 1;
  return {
    platform: 'github',
    deliveryId: `delivery-${deliveries}`,
    event: 'workflow_job',
    receivedAt: new Date().toISOString(),
    headers: { 'x-github-event': 'workflow_job' },
    body: '{"action":"queued"}',
    ...overrides,
  };
}

function startWorker<R>(processor: (e: Envelope) => Promise<R>): Worker {
  const worker = createWebhookWorker(
    { redisUrl: queuePrefix.redisUrl, prefix: queuePrefix.prefix, concurrency: 4 },
    processor,
  );
  workers.push(worker);
  return worker;
}

describe('producer', () => {
  it('queues a delivery once under <platform>-<deliveryId>', async () => {
    const first = envelope();
    expect(await producer.enqueue(first)).toBe('enqueued');
    expect(await producer.enqueue({ ...first, body: 'changed' })).toBe('duplicate');
    const job = await inspect.getJob(`github-${first.deliveryId}`);
    expect(job?.data).toEqual(first);
    expect((await inspect.getJobCounts('waiting')).waiting).toBe(1);
  });

  it('requeues a redelivery of a dead-lettered delivery with the new body, and processes it', async () => {
    const seen: string[] = [];
    const worker = startWorker(async (e) => {
      seen.push(e.body);
      if (e.body === 'broken') throw new DeadLetterError('body is not valid JSON');
      return 'ok';
    });
    const failed = new Promise((resolve) => worker.once('failed', resolve));
    const first = envelope({ body: 'broken' });
    await producer.enqueue(first);
    await failed;
    const job = await inspect.getJob(`github-${first.deliveryId}`);
    expect(await job?.getState()).toBe('failed');
    expect(job?.failedReason).toBe('body is not valid JSON');
    expect(job?.attemptsMade).toBe(1);

    const completed = new Promise((resolve) => worker.once('completed', resolve));
    expect(await producer.enqueue({ ...first, body: 'fixed' })).toBe('requeued');
    await completed;
    expect(seen).toEqual(['broken', 'fixed']);
    expect(await (await inspect.getJob(`github-${first.deliveryId}`))?.getState()).toBe('completed');
  });

  it('reports Redis readiness and fails fast when Redis is unreachable', async () => {
    expect(await producer.isReady()).toBe(true);
    const unreachable = createWebhookProducer({
      redisUrl: 'redis://127.0.0.1:1',
      prefix: queuePrefix.prefix,
    });
    try {
      expect(await unreachable.isReady()).toBe(false);
      const started = Date.now();
      await expect(unreachable.enqueue(envelope())).rejects.toBeInstanceOf(QueueUnavailableError);
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      await unreachable.close();
    }
  });
});

describe('worker', () => {
  it('retries a transient failure with backoff until it succeeds', async () => {
    let calls = 0;
    const worker = startWorker(async () => {
      calls += 1;
      if (calls < 3) throw new Error('database unavailable');
      return 'recorded';
    });
    const completed = new Promise<unknown>((resolve) =>
      worker.once('completed', (_job, result) => resolve(result)),
    );
    const delivered = envelope();
    await producer.enqueue(delivered);
    expect(await completed).toBe('recorded');
    expect(calls).toBe(3);
  });

  it('dead-letters an envelope that does not match the schema, with the reason', async () => {
    const worker = startWorker(async () => 'unreachable');
    const failed = new Promise<Error>((resolve) => worker.once('failed', (_job, error) => resolve(error)));
    await inspect.add('workflow_job', { platform: 'github', body: 42 }, { jobId: 'github-broken' });
    expect((await failed).message).toMatch(/^malformed envelope: /);
    const job = await inspect.getJob('github-broken');
    expect(await job?.getState()).toBe('failed');
    expect(job?.attemptsMade).toBe(1);
  });

  it('closes every Redis connection it opened, after finishing its work', async () => {
    const connectionName = `${queuePrefix.prefix.slice(1, -1)}-closing`;
    const worker = createWebhookWorker(
      { redisUrl: queuePrefix.redisUrl, prefix: queuePrefix.prefix, concurrency: 1, connectionName },
      async () => 'recorded',
    );
    const completed = new Promise((resolve) => worker.once('completed', resolve));
    await producer.enqueue(envelope());
    await completed;
    // One connection for commands, under our name, and one for the blocking fetch of the next
    // job, under the name BullMQ lists workers by.
    expect(await queuePrefix.connectionsNamed(connectionName)).toBe(1);
    expect(await inspect.getWorkers()).toHaveLength(1);
    await worker.close();
    expect(await queuePrefix.connectionsNamed(connectionName)).toBe(0);
    expect(await inspect.getWorkers()).toHaveLength(0);
  });
});
