import { Counter, Histogram, type Registry } from 'prom-client';

/**
 * What a stale-job check wrote: a waiting job the forge holds again, a held job released to
 * wait for a runner, a start, a completion, or a completion for a job the forge no longer has.
 */
export type CorrectionChange = 'held' | 'waiting' | 'started' | 'completed' | 'missing';

export type ReconcileErrorKind = 'lookup' | 'deliveries' | 'redeliver' | 'write';

export interface ReconcileMetrics {
  checked: Counter<'platform'>;
  corrected: Counter<'platform' | 'change'>;
  redelivered: Counter;
  errors: Counter<'platform' | 'kind'>;
  duration: Histogram;
}

export function createReconcileMetrics(registry: Registry): ReconcileMetrics {
  return {
    checked: new Counter({
      name: 'runner_planner_reconcile_checked_total',
      help: 'Stale jobs looked up on their forge by reconciliation, by platform.',
      labelNames: ['platform'],
      registers: [registry],
    }),
    corrected: new Counter({
      name: 'runner_planner_reconcile_corrected_total',
      help: 'Stale jobs whose forge state was written by reconciliation, by platform and change (held, waiting, started, completed, missing).',
      labelNames: ['platform', 'change'],
      registers: [registry],
    }),
    redelivered: new Counter({
      name: 'runner_planner_reconcile_redelivered_total',
      help: 'Failed GitHub workflow_job deliveries reconciliation asked GitHub to redeliver.',
      registers: [registry],
    }),
    errors: new Counter({
      name: 'runner_planner_reconcile_errors_total',
      help: 'Reconciliation failures, by platform and kind (lookup, deliveries, redeliver, write).',
      labelNames: ['platform', 'kind'],
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'runner_planner_reconcile_duration_seconds',
      help: 'Duration of one reconcile pass (redelivery and stale-job check).',
      buckets: [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1_800],
      registers: [registry],
    }),
  };
}
