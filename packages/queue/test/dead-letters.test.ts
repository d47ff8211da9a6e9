import { createTestQueuePrefix } from '@runner-planner/testkit';
import { Queue, type Worker } from 'bullmq';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type Attempt,
  createWebhookProducer,
  createWebhookWorker,
  DeadLetterError,
  type DeadLetterRetention,
  type Envelope,
  RefusedError,
  WEBHOOK_QUEUE,
  type WebhookProducer,
} from '../src/index.js';

const space = createTestQueuePrefix('dead-letters');
let producer: WebhookProducer;
let inspect: Queue;
const workers: Worker[] = [];

beforeAll(() => {
  producer = createWebhookProducer({ redisUrl: space.redisUrl, prefix: space.prefix });
  inspect = new Queue(WEBHOOK_QUEUE, { connection: { url: space.redisUrl }, prefix: space.prefix });
});
afterEach(async () => {
  await Promise.all(workers.splice(0).map((worker) => worker.close()));
  await inspect.obliterate({ force: true });
});
afterAll(async () => {
  await producer.close();
  await inspect.close();
  await space.cleanup();
});

let deliveries = 0;
function envelope(body = '{"action":"queued"}'): Envelope {
  deliveries += 1;
  return {
    platform: 'gitlab',
    deliveryId: `delivery-${deliveries}`,
    event: 'Job Hook',
    receivedAt: new Date().toISOString(),
    headers: {},
    body,
  };
}
const jobIdOf = (e: Envelope) => `gitlab-${e.deliveryId}`;

function startWorker(
  processor: (e: Envelope, attempt: Attempt) => Promise<string>,
  deadLetters?: DeadLetterRetention,
): Worker {
  // One at a time, so events fail in the order they were queued.
  const worker = createWebhookWorker(
    {
      redisUrl: space.redisUrl,
      prefix: space.prefix,
      concurrency: 1,
      ...(deadLetters ? { deadLetters } : {}),
    },
    processor,
  );
  workers.push(worker);
  return worker;
}

/** Resolves once the worker has dead-lettered `count` more jobs (retried failures are not counted). */
function failures(worker: Worker, count: number): Promise<void> {
  let seen = 0;
  return new Promise((resolve) => {
    const listener = (job: { finishedOn?: number } | undefined) => {
      // Only a job moved to the failed set has finished.
      if (job?.finishedOn) seen += 1;
      if (seen === count) {
        worker.off('failed', listener);
        resolve();
      }
    };
    worker.on('failed', listener);
  });
}

describe('dead-letter retention', () => {
  it('keeps only the newest DEAD_LETTER_MAX_COUNT dead letters: more failures remove the oldest', async () => {
    const worker = startWorker(
      async () => {
        throw new DeadLetterError('body is not valid JSON');
      },
      { count: 3, ageMs: 86_400_000 },
    );
    const done = failures(worker, 5);
    const events = Array.from({ length: 5 }, () => envelope());
    for (const event of events) await producer.enqueue(event);
    await done;

    const kept = await inspect.getFailed(0, -1);
    expect(kept.map((job) => job.id).sort()).toEqual(events.slice(2).map(jobIdOf).sort());
    for (const removed of events.slice(0, 2)) expect(await inspect.getJob(jobIdOf(removed))).toBeUndefined();
    expect(kept.every((job) => job.failedReason === 'body is not valid JSON')).toBe(true);
  });

  it('drops dead letters older than DEAD_LETTER_MAX_AGE when the next one arrives', async () => {
    const worker = startWorker(
      async () => {
        throw new DeadLetterError('unreadable');
      },
      { count: 1_000, ageMs: 300 },
    );
    const first = envelope();
    const firstFailed = failures(worker, 1);
    await producer.enqueue(first);
    await firstFailed;
    expect(await (await inspect.getJob(jobIdOf(first)))?.getState()).toBe('failed');

    // BullMQ trims by age only when a job fails: let the first age out, then fail another.
    await new Promise((resolve) => setTimeout(resolve, 400));
    const second = envelope();
    const secondFailed = failures(worker, 1);
    await producer.enqueue(second);
    await secondFailed;
    expect(await inspect.getJob(jobIdOf(first))).toBeUndefined();
    expect((await inspect.getFailed(0, -1)).map((job) => job.id)).toEqual([jobIdOf(second)]);
  });
});

describe('refusals', () => {
  it('retries a RefusedError after its own delay, counting refusals for the processor', async () => {
    const seen: number[] = [];
    const lastRefusedAt: (number | undefined)[] = [];
    let refusing = true;
    const worker = startWorker(async (_e, attempt) => {
      seen.push(attempt.refusals);
      lastRefusedAt.push(attempt.lastRefusedAt);
      if (!refusing) return 'recorded';
      if (attempt.refusals >= 2) throw new DeadLetterError(`refused ${attempt.refusals + 1} times`);
      throw new RefusedError('GitLab API answered 404', 50);
    });
    const done = failures(worker, 1);
    const event = envelope();
    const started = Date.now();
    await producer.enqueue(event);
    await done;
    // The usual backoff would wait at least 0.5 s, then 1 s.
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(seen).toEqual([0, 1, 2]);
    const job = await inspect.getJob(jobIdOf(event));
    expect(job?.failedReason).toBe('refused 3 times');
    expect(job?.data).toMatchObject({ ...event, refusals: 2, refusedAt: expect.any(Number) });
    expect(lastRefusedAt[0]).toBeUndefined();
    expect(lastRefusedAt[1]).toBeGreaterThanOrEqual(started);
    expect(lastRefusedAt[2]).toBeGreaterThan(lastRefusedAt[1] as number);

    // A redelivery from the forge replaces the data: the count starts again.
    refusing = false;
    const completed = new Promise((resolve) => worker.once('completed', resolve));
    expect(await producer.enqueue(event)).toBe('requeued');
    await completed;
    expect(seen).toEqual([0, 1, 2, 0]);
  });

  it('does not count other failures as refusals', async () => {
    const seen: number[] = [];
    let calls = 0;
    const worker = startWorker(async (_e, attempt) => {
      calls += 1;
      seen.push(attempt.refusals);
      if (calls === 1) throw new Error('GitLab API answered 503');
      if (calls === 2) throw new RefusedError('GitLab API answered 404', 10);
      return 'recorded';
    });
    const completed = new Promise((resolve) => worker.once('completed', resolve));
    await producer.enqueue(envelope());
    await completed;
    expect(seen).toEqual([0, 0, 1]);
  });
});
