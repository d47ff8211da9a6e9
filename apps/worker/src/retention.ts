import { setTimeout as sleep } from 'node:timers/promises';
import type { Config } from '@runner-planner/config';
import type { Database } from '@runner-planner/database';
import type { Log } from '@runner-planner/process';
import { type RepeatingPass, startRepeatingPass } from './repeating-pass.js';

/** The queue retention passes are scheduled on, next to the webhook queue under the same prefix. */
export const RETENTION_QUEUE = 'retention';

/**
 * Rows one statement deletes or empties: each batch is one short statement, and the pass pauses
 * between batches, so webhooks keep being recorded beside a pass that works through a backlog.
 */
const RETENTION_BATCH = 500;
const PAUSE_BETWEEN_BATCHES_MS = 20;

export interface RetentionSettings {
  /** Delete jobs completed longer ago than this; 0 keeps them. */
  jobRetentionMs: number;
  /** Empty the payloads of jobs completed longer ago than this; 0 keeps them. */
  rawPayloadRetentionMs: number;
  /** Rows per statement (tests use small batches to see several). */
  batchSize?: number;
}

export interface RetentionReport {
  deletedJobs: number;
  droppedPayloads: number;
}

/** One retention pass: every expired job and payload, a batch at a time, until none is left. */
export async function runRetentionPass(db: Database, settings: RetentionSettings): Promise<RetentionReport> {
  const now = Date.now();
  const batch = settings.batchSize ?? RETENTION_BATCH;
  const report: RetentionReport = { deletedJobs: 0, droppedPayloads: 0 };
  if (settings.jobRetentionMs > 0) {
    const before = new Date(now - settings.jobRetentionMs);
    report.deletedJobs = await inBatches(batch, () => db.deleteJobsCompletedBefore(before, batch));
  }
  if (settings.rawPayloadRetentionMs > 0) {
    const before = new Date(now - settings.rawPayloadRetentionMs);
    report.droppedPayloads = await inBatches(batch, () => db.dropRawPayloadsCompletedBefore(before, batch));
  }
  return report;
}

async function inBatches(batch: number, step: () => Promise<number>): Promise<number> {
  let total = 0;
  for (;;) {
    const done = await step();
    total += done;
    // A short batch means the rest were taken (or are being written, and wait for the next pass).
    if (done < batch) return total;
    await sleep(PAUSE_BETWEEN_BATCHES_MS);
  }
}

/** Whether the configuration asks for any retention at all (JOB_RETENTION, RAW_PAYLOAD_RETENTION). */
export function retentionEnabled(config: Config): boolean {
  return config.jobRetentionMs > 0 || config.rawPayloadRetentionMs > 0;
}

/** Retention passes every RETENTION_INTERVAL, one schedule however many workers declare it. */
export function startRetentionScheduler(config: Config, db: Database, log: Log): Promise<RepeatingPass> {
  const settings = {
    jobRetentionMs: config.jobRetentionMs,
    rawPayloadRetentionMs: config.rawPayloadRetentionMs,
  };
  return startRepeatingPass({
    queue: RETENTION_QUEUE,
    what: 'retention pass',
    redisUrl: config.redisUrl,
    prefix: config.queuePrefix,
    intervalMs: config.retentionIntervalMs,
    connectionName: 'runner-planner-retention',
    log,
    run: async () => {
      const report = await runRetentionPass(db, settings);
      if (report.deletedJobs > 0 || report.droppedPayloads > 0) {
        log.info(
          { ...report },
          `retention: deleted ${report.deletedJobs} completed jobs past JOB_RETENTION, emptied the payloads of ${report.droppedPayloads} past RAW_PAYLOAD_RETENTION`,
        );
      }
      return report;
    },
  });
}
