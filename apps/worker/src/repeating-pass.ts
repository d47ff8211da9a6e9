import { errorText, type Log, logErrors, once, redactUrl } from '@runner-planner/process';
import { workerLink } from '@runner-planner/queue';
import { Queue, Worker } from 'bullmq';

export interface RepeatingPassOptions {
  /** The queue the passes are scheduled on, next to the webhook queue under the same prefix. */
  queue: string;
  /** What the log calls a pass (`reconcile pass`, `retention pass`). */
  what: string;
  redisUrl: string;
  prefix: string;
  intervalMs: number;
  run: () => Promise<unknown>;
  /** Name of the command connections in `CLIENT LIST`; BullMQ names the blocking one after the queue. */
  connectionName: string;
  /** Where connection errors and failed passes are logged. */
  log: Log;
}

export interface RepeatingPass {
  queue: Queue;
  worker: Worker;
  close(): Promise<void>;
}

/**
 * A BullMQ job scheduler that enqueues a pass every `intervalMs` (upserted, so every worker
 * process can declare it and there is still one schedule), consumed one at a time per process.
 * A pass that throws (the database unreachable, Redis gone) is not retried: the next one comes an
 * interval later, and the same cause is told once, not every interval.
 */
export async function startRepeatingPass(options: RepeatingPassOptions): Promise<RepeatingPass> {
  const { log, what } = options;
  const link = workerLink(options.redisUrl, { connectionName: options.connectionName });
  const { connection } = link;
  const queue = new Queue(options.queue, { connection, prefix: options.prefix });
  try {
    await queue.upsertJobScheduler(
      `${options.queue}-every-interval`,
      { every: options.intervalMs },
      { name: options.queue, opts: { attempts: 1, removeOnComplete: 100, removeOnFail: 100 } },
    );
  } catch (error) {
    await queue.close();
    await link.close();
    throw error;
  }
  const worker = new Worker(options.queue, async () => options.run(), {
    connection,
    prefix: options.prefix,
    concurrency: 1,
    lockDuration: 60_000,
  });
  const context = { queue: options.queue, redis: redactUrl(options.redisUrl) };
  logErrors([worker, queue], log, `${options.queue} scheduler: Redis`, context, { recoveredOn: 'ready' });
  const failedPasses = once(log, { level: 'error' });
  worker.on('failed', (job, error) => {
    const text = errorText(error);
    failedPasses.tell(text, { ...context, job: job?.id, error: text }, `${what} failed: ${text}`);
  });
  worker.on('completed', () => {
    if (failedPasses.reset()) log.info(context, `${what} completed again`);
  });
  return {
    queue,
    worker,
    async close() {
      await worker.close();
      await queue.close();
      await link.close();
    },
  };
}
