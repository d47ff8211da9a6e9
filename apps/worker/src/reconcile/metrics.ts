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
  /** Also counted as the original planner's `github_runner_webhook_redelivery_count_total`. */
  redelivered: { inc(): void };
  /** Redelivery failures are also the original's `github_runner_webhook_redelivery_errors_total`. */
  errors: { inc(labels: { platform: string; kind: ReconcileErrorKind }): void };
  duration: Histogram;
}

export interface RedeliveryCounters {
  count: Counter;
  errors: Counter;
}

/**
 * The original planner's redelivery counters, under its Prometheus names. The worker registers
 * them whether or not it reconciles, so the original's panels read 0 rather than no data.
 */
export function registerRedeliveryCounters(registry: Registry): RedeliveryCounters {
  const counter = (name: string, help: string) =>
    (registry.getSingleMetric(name) as Counter | undefined) ??
    new Counter({ name, help, registers: [registry] });
  return {
    count: counter(
      'github_runner_webhook_redelivery_count_total',
      'Failed GitHub webhook deliveries redelivered (name of the original planner).',
    ),
    errors: counter(
      'github_runner_webhook_redelivery_errors_total',
      'Failures to list or redeliver failed GitHub webhook deliveries (name of the original planner).',
    ),
  };
}

export function createReconcileMetrics(registry: Registry): ReconcileMetrics {
  const original = registerRedeliveryCounters(registry);
  const redelivered = new Counter({
    name: 'runner_planner_reconcile_redelivered_total',
    help: 'Failed GitHub workflow_job deliveries reconciliation asked GitHub to redeliver.',
    registers: [registry],
  });
  const errors = new Counter<'platform' | 'kind'>({
    name: 'runner_planner_reconcile_errors_total',
    help: 'Reconciliation failures, by platform and kind (lookup, deliveries, redeliver, write).',
    labelNames: ['platform', 'kind'],
    registers: [registry],
  });
  return {
    redelivered: {
      inc() {
        redelivered.inc();
        original.count.inc();
      },
    },
    errors: {
      inc(labels) {
        errors.inc(labels);
        if (labels.kind === 'deliveries' || labels.kind === 'redeliver') original.errors.inc();
      },
    },
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
    duration: new Histogram({
      name: 'runner_planner_reconcile_duration_seconds',
      help: 'Duration of one reconcile pass (redelivery and stale-job check).',
      buckets: [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1_800],
      registers: [registry],
    }),
  };
}
