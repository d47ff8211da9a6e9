import { type Job, UnrecoverableError, Worker } from 'bullmq';
import { workerConnectionOptions } from './connection.js';
import { type Envelope, envelopeSchema } from './envelope.js';
import { DEFAULT_QUEUE_PREFIX, retryDelayMs, WEBHOOK_QUEUE } from './policy.js';

/** Thrown by a processor for a payload that can never be processed: no retry, straight to dead letters. */
export class DeadLetterError extends UnrecoverableError {
  override readonly name = 'DeadLetterError';
}

export interface WebhookWorkerOptions {
  redisUrl: string;
  prefix?: string;
  concurrency: number;
  /** How long a job is locked to a worker; a crashed worker's jobs are taken over after about this long. */
  lockMs?: number;
  /** Start pulling jobs at once (default) or wait for `worker.run()`. */
  autorun?: boolean;
  /**
   * Name of the worker's command connection in `CLIENT LIST` (default `runner-planner-worker`);
   * BullMQ names the blocking one after the queue, which is how it lists workers.
   */
  connectionName?: string;
}

export type WebhookProcessor<R> = (envelope: Envelope, job: Job<unknown, R>) => Promise<R>;

/**
 * A BullMQ worker for the webhook queue. Envelopes that do not match the schema are
 * dead-lettered with the reason; anything else the processor throws is retried with backoff.
 */
export function createWebhookWorker<R>(
  options: WebhookWorkerOptions,
  processor: WebhookProcessor<R>,
): Worker {
  const lockDuration = options.lockMs ?? 30_000;
  const worker = new Worker<unknown, R>(
    WEBHOOK_QUEUE,
    async (job) => {
      const parsed = envelopeSchema.safeParse(job.data);
      if (!parsed.success) {
        throw new DeadLetterError(
          `malformed envelope: ${parsed.error.issues.map((i) => i.message).join('; ')}`,
        );
      }
      return processor(parsed.data, job);
    },
    {
      connection: workerConnectionOptions(options.redisUrl, {
        connectionName: options.connectionName ?? 'runner-planner-worker',
      }),
      prefix: options.prefix ?? DEFAULT_QUEUE_PREFIX,
      concurrency: options.concurrency,
      autorun: options.autorun ?? true,
      lockDuration,
      stalledInterval: lockDuration,
      // A job whose worker died is retried; one that keeps killing workers is parked after 5.
      maxStalledCount: 5,
      // Every webhook job uses BACKOFF_TYPE; the strategy is the worker's to apply.
      settings: { backoffStrategy: (attemptsMade: number) => retryDelayMs(attemptsMade) },
    },
  );
  return worker;
}
