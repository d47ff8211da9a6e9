import { type Log, lineLog } from '@runner-planner/process';
import { type RepeatingPass, startRepeatingPass } from '../repeating-pass.js';
import type { ReconcileReport } from './reconcile.js';

/** The queue reconcile passes are scheduled on, next to the webhook queue under the same prefix. */
export const RECONCILE_QUEUE = 'reconcile';

export type ReconcileScheduler = RepeatingPass;

/**
 * Reconcile passes every `intervalMs`, one schedule however many worker processes declare it;
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
  return startRepeatingPass({
    queue: RECONCILE_QUEUE,
    what: 'reconcile pass',
    redisUrl: options.redisUrl,
    prefix: options.prefix,
    intervalMs: options.intervalMs,
    run: options.run,
    connectionName: options.connectionName ?? 'runner-planner-reconcile',
    log: options.log ?? lineLog('runner-planner'),
  });
}
