import type { Job } from './types.js';

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * GitHub cancels a self-hosted job that found no runner within 5 days, so an incomplete job
 * older than that is a lost `completed` webhook, not demand. A safety net only: reconciliation
 * is what keeps pressure true.
 */
export const DEFAULT_STALE_AFTER_MS = 5 * DAY_MS;

/** Jobs created at or before this instant no longer count toward pressure. */
export function stalenessCutoff(now: Date, staleAfterMs: number = DEFAULT_STALE_AFTER_MS): Date {
  return new Date(now.getTime() - staleAfterMs);
}

type CountedJob = Pick<Job, 'completedAt' | 'createdAt' | 'assignedFlavor' | 'releasedAt'>;

/**
 * Whether a job adds to its assigned flavor's pressure at `now`. The window starts at the job's
 * creation, or for a job that was held (a manual job played later) when it was released.
 */
export function countsTowardPressure(
  job: CountedJob,
  now: Date,
  staleAfterMs: number = DEFAULT_STALE_AFTER_MS,
): boolean {
  const since = job.releasedAt ?? job.createdAt;
  return (
    job.assignedFlavor !== null &&
    job.completedAt === null &&
    since.getTime() > stalenessCutoff(now, staleAfterMs).getTime()
  );
}
