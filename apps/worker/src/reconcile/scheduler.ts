import { errorText, type Log, lineLog, logErrors, once, redactUrl } from '@runner-planner/process';
import { workerConnectionOptions } from '@runner-planner/queue';
import { Queue, Worker } from 'bullmq';
import type { ReconcileReport } from './reconcile.js';

/** The queue reconcile passes are scheduled on, next to the webhook queue under the same prefix. */
export const RECONCILE_QUEUE = 'reconcile';
const SCHEDULER_ID = 'reconcile-every-interval';

export interface ReconcileScheduler {
  queue: Queue;
  worker: Worker;
  close(): Promise<void>;
}

/**
 * A BullMQ job scheduler that enqueues a pass every `intervalMs` (upserted, so every worker
 * process can declare it and there is still one schedule), consumed one at a time per process;
 * `reconcileOnce`'s lock keeps passes from overlapping across processes.
 */
export async function startReconcileScheduler(options: {
  redisUrl: string;
  prefix: string;
  intervalMs: number;
  run: () => Promise<ReconcileReport>;
  /**
   * Name of the command connections of the scheduler's queue and worker in `CLIENT LIST` (default
   * `runner-planner-reconcile`); BullMQ names the worker's blocking one after the queue.
   */
  connectionName?: string;
  /** Where connection errors and failed passes are logged (default: lines on stderr). */
  log?: Log;
}): Promise<ReconcileScheduler> {
  const log = options.log ?? lineLog('runner-planner');
  const connection = workerConnectionOptions(options.redisUrl, {
    connectionName: options.connectionName ?? 'runner-planner-reconcile',
  });
  const queue = new Queue(RECONCILE_QUEUE, {
    connection,
    prefix: options.prefix,
  });
  try {
    await queue.upsertJobScheduler(
      SCHEDULER_ID,
      { every: options.intervalMs },
      { name: 'reconcile', opts: { attempts: 1, removeOnComplete: 100, removeOnFail: 100 } },
    );
  } catch (error) {
    await queue.close();
    throw error;
  }
  const worker = new Worker(RECONCILE_QUEUE, async () => options.run(), {
    connection,
    prefix: options.prefix,
    concurrency: 1,
    lockDuration: 60_000,
  });
  const context = { queue: RECONCILE_QUEUE, redis: redactUrl(options.redisUrl) };
  logErrors([worker, queue], log, 'reconcile scheduler: Redis', context, { recoveredOn: 'ready' });
  // A pass that throws (the database unreachable, the lock lost to Redis) is not retried: the
  // next one comes an interval later. The same cause is told once, not every interval.
  const failedPasses = once(log, { level: 'error' });
  worker.on('failed', (job, error) => {
    const text = errorText(error);
    failedPasses.tell(text, { ...context, job: job?.id, error: text }, `reconcile pass failed: ${text}`);
  });
  worker.on('completed', () => {
    if (failedPasses.reset()) log.info(context, 'reconcile pass completed again');
  });
  return {
    queue,
    worker,
    async close() {
      await worker.close();
      await queue.close();
    },
  };
}
