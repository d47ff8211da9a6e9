import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { closeQueuesAndConnection, producerConnection, whenConnected } from './connection.js';
import { type Envelope, queueJobId } from './envelope.js';
import { DEFAULT_QUEUE_PREFIX, WEBHOOK_QUEUE, webhookJobOptions } from './policy.js';

/**
 * - `enqueued`: new delivery, queued.
 * - `duplicate`: the same delivery is already queued, running or done: nothing to do.
 * - `requeued`: the same delivery had failed for good; it is processed again with this body.
 */
export type EnqueueResult = 'enqueued' | 'duplicate' | 'requeued';

export interface WebhookProducer {
  enqueue(envelope: Envelope): Promise<EnqueueResult>;
  /** Whether Redis answers right now. */
  isReady(): Promise<boolean>;
  close(): Promise<void>;
}

/** Redis is not connected: the caller should answer 503 so the forge redelivers later. */
export class QueueUnavailableError extends Error {
  override readonly name = 'QueueUnavailableError';
  constructor() {
    super('queue unavailable: Redis is not connected');
  }
}

export interface ProducerOptions {
  redisUrl: string;
  prefix?: string;
}

export function createWebhookProducer(options: ProducerOptions): WebhookProducer {
  const connection: Redis = producerConnection(options.redisUrl);
  // Errors surface on each call; without a listener ioredis would log every reconnect attempt.
  connection.on('error', () => {});
  const queue = new Queue<Envelope>(WEBHOOK_QUEUE, {
    connection,
    prefix: options.prefix ?? DEFAULT_QUEUE_PREFIX,
    defaultJobOptions: webhookJobOptions,
  });
  queue.on('error', () => {});

  return {
    async enqueue(envelope) {
      // BullMQ would wait for the connection forever; a webhook sender must hear "no" instead.
      if (!(await whenConnected(connection))) throw new QueueUnavailableError();
      const jobId = queueJobId(envelope.platform, envelope.deliveryId);
      // A new delivery costs one EXISTS on the job's hash. `getJobState` scans the queue's
      // lists and grows with their length, so it is kept for the rare repeated delivery.
      if ((await connection.exists(queue.toKey(jobId))) === 0) {
        await queue.add(envelope.event, envelope, { jobId });
        return 'enqueued';
      }
      const state = await queue.getJobState(jobId);
      if (state === 'failed') {
        const failed = await queue.getJob(jobId);
        if (failed) {
          await failed.updateData(envelope);
          await failed.retry('failed');
          return 'requeued';
        }
      } else if (state !== 'unknown') {
        return 'duplicate';
      }
      await queue.add(envelope.event, envelope, { jobId });
      return 'enqueued';
    },
    async isReady() {
      if (!(await whenConnected(connection))) return false;
      try {
        return (await connection.ping()) === 'PONG';
      } catch {
        return false;
      }
    },
    async close() {
      await closeQueuesAndConnection([queue], connection);
    },
  };
}
