import type { JobEvent } from '@runner-planner/core';
import { type Database, ExistError, NotExistError } from '@runner-planner/database';

/**
 * Records one event so that any order and repetition of a job's events ends in the same row:
 * the first event of any kind inserts the job, later ones only fill what is still empty. A
 * `held` event only ever inserts a held job: once an event says the job waits, runs or ended,
 * it is never held again. `labels` are needed only when this event is the one that inserts the job.
 */
export async function applyJobEvent(
  db: Database,
  event: JobEvent,
  labels: () => Promise<string[]>,
): Promise<void> {
  const { platform, id, raw } = event;
  const insert = async () =>
    db.addJob({
      platform,
      id,
      labels: await labels(),
      createdAt: event.createdAt,
      startedAt: event.startedAt,
      completedAt: event.completedAt,
      raw,
      held: event.action === 'held',
    });

  switch (event.action) {
    case 'held':
      await insertOr(insert, () => db.mergeJobRaw(platform, id, raw));
      return;
    case 'queued':
      await insertOr(insert, () => db.updateJobWaiting(platform, id, raw));
      return;
    case 'started': {
      const startedAt = event.startedAt ?? event.createdAt;
      await updateOrInsert(() => db.updateJobStarted(platform, id, startedAt, raw), insert);
      return;
    }
    case 'completed': {
      const completedAt = event.completedAt ?? event.createdAt;
      // A completion that reports when the job started fills a start we never heard of.
      const startedAt = event.startedAt ?? undefined;
      await updateOrInsert(() => db.updateJobCompleted(platform, id, completedAt, raw, startedAt), insert);
      return;
    }
  }
}

/** Inserts, or runs `whenExists` if the job is already stored. */
async function insertOr(insert: () => Promise<void>, whenExists: () => Promise<void>): Promise<void> {
  try {
    await insert();
  } catch (error) {
    if (!(error instanceof ExistError)) throw error;
    await whenExists();
  }
}

/** Update; if the job is not stored yet insert it; if another event inserted it meanwhile, update. */
async function updateOrInsert(update: () => Promise<void>, insert: () => Promise<void>): Promise<void> {
  try {
    await update();
  } catch (error) {
    if (!(error instanceof NotExistError)) throw error;
    await insertOr(insert, update);
  }
}
