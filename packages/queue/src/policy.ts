import type { JobsOptions } from 'bullmq';

/** One queue carries both platforms' webhooks, so events keep their arrival order per job. */
export const WEBHOOK_QUEUE = 'webhooks';

/**
 * The default prefix carries a Redis Cluster hash tag: every key of the queue then lives in
 * one slot, which BullMQ's multi-key scripts require.
 */
export const DEFAULT_QUEUE_PREFIX = '{runner-planner}';

export const BACKOFF_TYPE = 'capped-exponential';
const FIRST_RETRY_MS = 1_000;
const LONGEST_RETRY_MS = 60_000;

/**
 * Transient failures (database or GitLab API down) retry about once a minute for a day before
 * the job is parked in the failed (dead-letter) state, from where it can still be replayed.
 */
export const MAX_ATTEMPTS = 1_440;

/** Exponential from 1 s, capped at a minute, with jitter so a recovering database is not stampeded. */
export function retryDelayMs(attemptsMade: number, random: () => number = Math.random): number {
  const exponential = Math.min(FIRST_RETRY_MS * 2 ** Math.max(attemptsMade - 1, 0), LONGEST_RETRY_MS);
  return Math.round(exponential * (0.5 + random() / 2));
}

export const webhookJobOptions: JobsOptions = {
  attempts: MAX_ATTEMPTS,
  backoff: { type: BACKOFF_TYPE },
  // Recent completions stay visible in the dashboard; dead letters stay until replayed or removed.
  removeOnComplete: { age: 3_600, count: 1_000 },
  removeOnFail: false,
};
