import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

export type ProcessOutcome = 'recorded' | 'ignored' | 'dead_lettered' | 'retried';

export interface WorkerMetrics {
  registry: Registry;
  processed: Counter<'platform' | 'outcome'>;
  processingSeconds: Histogram<'platform'>;
  jobWaitingSeconds: Histogram<'platform'>;
  jobRunningSeconds: Histogram<'platform'>;
}

/** CI jobs wait seconds to hours for a runner and run minutes to hours. */
const JOB_DURATION_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1_800, 3_600, 7_200, 21_600, 86_400];

export function createWorkerMetrics(registry = new Registry()): WorkerMetrics {
  collectDefaultMetrics({ register: registry, prefix: 'runner_planner_worker_' });
  return {
    registry,
    processed: new Counter({
      name: 'runner_planner_worker_events_processed_total',
      help: 'Webhook events taken from the queue, by platform and outcome (recorded, ignored, dead_lettered, retried).',
      labelNames: ['platform', 'outcome'],
      registers: [registry],
    }),
    processingSeconds: new Histogram({
      name: 'runner_planner_worker_processing_duration_seconds',
      help: 'Time to process one queued webhook event, from taking it to recording it.',
      labelNames: ['platform'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    jobWaitingSeconds: new Histogram({
      name: 'runner_planner_job_waiting_seconds',
      help: 'How long CI jobs waited for a runner: created to started, observed when a start is recorded.',
      labelNames: ['platform'],
      buckets: JOB_DURATION_BUCKETS,
      registers: [registry],
    }),
    jobRunningSeconds: new Histogram({
      name: 'runner_planner_job_running_seconds',
      help: 'How long CI jobs ran: started to completed, observed when a completion is recorded.',
      labelNames: ['platform'],
      buckets: JOB_DURATION_BUCKETS,
      registers: [registry],
    }),
  };
}
