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

/**
 * Dead letters kept by default: the newest 5,000, none older than a week. Each holds a webhook
 * body (tens of kB, at most GATEWAY_BODY_LIMIT), so the count bounds what they take of Redis.
 */
export const DEAD_LETTER_RETENTION: DeadLetterRetention = { count: 5_000, ageMs: 7 * 86_400_000 };

/** The newest `count` dead letters are kept, and none older than `ageMs`. */
export interface DeadLetterRetention {
  count: number;
  ageMs: number;
}

/**
 * BullMQ's form. It trims when a job fails, so an aged dead letter goes when the next event is
 * dead-lettered rather than at the moment it ages out.
 */
export function removeOnFail(retention: DeadLetterRetention): { count: number; age: number } {
  return { count: retention.count, age: retention.ageMs / 1000 };
}

/**
 * `removeOnFail` is deliberately left out: a job's own option would override the worker's, and
 * the worker applies the retention it was configured with (DEAD_LETTER_MAX_COUNT and _AGE).
 */
export const webhookJobOptions: JobsOptions = {
  attempts: MAX_ATTEMPTS,
  backoff: { type: BACKOFF_TYPE },
  // Recent completions stay visible in the dashboard.
  removeOnComplete: { age: 3_600, count: 1_000 },
};
