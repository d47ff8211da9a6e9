import { type Job, UnrecoverableError, Worker } from 'bullmq';
import { workerLink } from './connection.js';
import { type Envelope, envelopeSchema } from './envelope.js';
import {
  DEAD_LETTER_RETENTION,
  DEFAULT_QUEUE_PREFIX,
  type DeadLetterRetention,
  removeOnFail,
  retryDelayMs,
  WEBHOOK_QUEUE,
} from './policy.js';

/** Thrown by a processor for a payload that can never be processed: no retry, straight to dead letters. */
export class DeadLetterError extends UnrecoverableError {
  override readonly name = 'DeadLetterError';
}

/**
 * Thrown by a processor for an answer that will very likely never change (a forge API's 404 for a
 * job id), but might within a short while: retried after `retryAfterMs` instead of the usual
 * backoff, and counted in the job's data so the processor can dead-letter it after a few.
 */
export class RefusedError extends Error {
  override readonly name = 'RefusedError';
  constructor(
    message: string,
    readonly retryAfterMs: number,
  ) {
    super(message);
  }
}

/** What a processor knows about the tries before this one. */
export interface Attempt {
  /** Tries of this event that ended in a RefusedError; 0 again after a redelivery from the forge. */
  refusals: number;
  /**
   * When the last of them ended (ms since the epoch): an answer cached before then is no news
   * for this try, one cached since is.
   */
  lastRefusedAt: number | undefined;
  job: Job;
}

/** Kept beside the envelope in the job's data; the envelope schema strips them. */
const REFUSALS_FIELD = 'refusals';
const REFUSED_AT_FIELD = 'refusedAt';

function counterOf(data: unknown, field: string): number | undefined {
  const value = (data as Record<string, unknown> | null)?.[field];
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0 ? value : undefined;
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
  /** How many dead letters to keep, and for how long (default DEAD_LETTER_RETENTION). */
  deadLetters?: DeadLetterRetention;
}

export type WebhookProcessor<R> = (envelope: Envelope, attempt: Attempt) => Promise<R>;

/**
 * A BullMQ worker for the webhook queue. Envelopes that do not match the schema are
 * dead-lettered with the reason; a RefusedError is counted and retried after its own delay;
 * anything else the processor throws is retried with backoff.
 */
export function createWebhookWorker<R>(
  options: WebhookWorkerOptions,
  processor: WebhookProcessor<R>,
): Worker {
  const lockDuration = options.lockMs ?? 30_000;
  const link = workerLink(options.redisUrl, {
    connectionName: options.connectionName ?? 'runner-planner-worker',
  });
  const worker = new Worker<unknown, R>(
    WEBHOOK_QUEUE,
    async (job) => {
      const parsed = envelopeSchema.safeParse(job.data);
      if (!parsed.success) {
        throw new DeadLetterError(
          `malformed envelope: ${parsed.error.issues.map((i) => i.message).join('; ')}`,
        );
      }
      const refusals = counterOf(job.data, REFUSALS_FIELD) ?? 0;
      const lastRefusedAt = counterOf(job.data, REFUSED_AT_FIELD);
      try {
        return await processor(parsed.data, { refusals, lastRefusedAt, job });
      } catch (error) {
        // The producer replaces the data on a redelivery, which starts the count again.
        if (error instanceof RefusedError) {
          await job.updateData({
            ...(job.data as object),
            [REFUSALS_FIELD]: refusals + 1,
            [REFUSED_AT_FIELD]: Date.now(),
          });
        }
        throw error;
      }
    },
    {
      connection: link.connection,
      prefix: options.prefix ?? DEFAULT_QUEUE_PREFIX,
      concurrency: options.concurrency,
      autorun: options.autorun ?? true,
      lockDuration,
      stalledInterval: lockDuration,
      // A job whose worker died is retried; one that keeps killing workers is parked after 5.
      maxStalledCount: 5,
      removeOnFail: removeOnFail(options.deadLetters ?? DEAD_LETTER_RETENTION),
      // Every webhook job uses BACKOFF_TYPE; the strategy is the worker's to apply. A refusal
      // waits a fixed time, without jitter, so retries of one refused id arrive together and
      // share one answer from the processor's cache.
      settings: {
        backoffStrategy: (attemptsMade: number, _type?: string, error?: Error) =>
          error instanceof RefusedError ? error.retryAfterMs : retryDelayMs(attemptsMade),
      },
    },
  );
  // A Cluster client is the worker's alone; BullMQ leaves it open, so it closes with the worker.
  worker.once('closed', () => void link.close());
  return worker;
}
