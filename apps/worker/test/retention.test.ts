import { loadConfig } from '@runner-planner/config';
import type { NewJob } from '@runner-planner/core';
import { createTestQueuePrefix } from '@runner-planner/testkit';
import { Queue } from 'bullmq';
import { afterAll, describe, expect, it } from 'vitest';
import { RETENTION_QUEUE, type RunningWorker, runRetentionPass, startWorker } from '../src/index.js';
import { useDatabase } from './support.js';

const fixture = useDatabase('worker_retention');
const space = createTestQueuePrefix('worker-retention');
afterAll(() => space.cleanup());

const DAY = 86_400_000;
const daysAgo = (days: number) => new Date(Date.now() - days * DAY);
const raw = { completed: { workflow_job: { id: 1 } } };

function job(id: string, completedDaysAgo: number | null): NewJob {
  const at = daysAgo(completedDaysAgo ?? 1);
  return {
    platform: 'github',
    id,
    labels: [],
    createdAt: at,
    startedAt: completedDaysAgo === null ? null : at,
    completedAt: completedDaysAgo === null ? null : at,
    raw,
  };
}

/** As if each job was recorded when it happened (retention also waits for the time of the last write). */
async function recordedWhenTheyHappened() {
  await fixture.sql.query('UPDATE job SET updated_at = COALESCE(completed_at, created_at)');
}

async function jobs(): Promise<Record<string, unknown>> {
  const rows = await fixture.db.listJobs('github');
  return Object.fromEntries(rows.map((row) => [row.id, row.raw]));
}

describe('runRetentionPass', () => {
  it('deletes jobs past JOB_RETENTION and empties payloads past RAW_PAYLOAD_RETENTION, in batches', async () => {
    for (let i = 0; i < 7; i += 1) await fixture.db.addJob(job(`old-${i}`, 120));
    await fixture.db.addJob(job('month', 30));
    await fixture.db.addJob(job('day', 1));
    await fixture.db.addJob(job('open', null));
    await recordedWhenTheyHappened();

    const report = await runRetentionPass(fixture.db, {
      jobRetentionMs: 90 * DAY,
      rawPayloadRetentionMs: 7 * DAY,
      batchSize: 3,
    });

    expect(report).toEqual({ deletedJobs: 7, droppedPayloads: 1 });
    expect(await jobs()).toEqual({ month: {}, day: raw, open: raw });
  });

  it('keeps everything when both are 0 (off)', async () => {
    await fixture.db.addJob(job('ancient', 3_000));
    await recordedWhenTheyHappened();
    const report = await runRetentionPass(fixture.db, { jobRetentionMs: 0, rawPayloadRetentionMs: 0 });
    expect(report).toEqual({ deletedJobs: 0, droppedPayloads: 0 });
    expect(await jobs()).toEqual({ ancient: raw });
  });
});

describe('the running worker', () => {
  let worker: RunningWorker | undefined;
  afterAll(() => worker?.close());

  it('runs retention passes on its own schedule, once however many workers declare it', async () => {
    await fixture.db.addJob(job('expired', 100));
    await fixture.db.addJob(job('recent', 1));
    await recordedWhenTheyHappened();
    const config = loadConfig({
      DATABASE_URL: fixture.url,
      REDIS_URL: space.redisUrl,
      QUEUE_PREFIX: space.prefix,
      LOG_LEVEL: 'silent',
      JOB_RETENTION: '90d',
      RAW_PAYLOAD_RETENTION: '0',
      RETENTION_INTERVAL: '1',
    });
    worker = await startWorker(config, { listen: false });
    const second = await startWorker(config, { listen: false });
    try {
      await expect.poll(async () => Object.keys(await jobs()), { timeout: 10_000 }).toEqual(['recent']);
      const queue = new Queue(RETENTION_QUEUE, { connection: { url: space.redisUrl }, prefix: space.prefix });
      try {
        expect(await queue.getJobSchedulersCount()).toBe(1);
      } finally {
        await queue.close();
      }
    } finally {
      await second.close();
    }
  });
});
