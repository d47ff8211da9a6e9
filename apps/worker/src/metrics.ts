import type { JobEvent } from '@runner-planner/core';
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import { registerRedeliveryCounters } from './reconcile/metrics.js';
import { RepoLabels } from './repo-labels.js';

export type ProcessOutcome = 'recorded' | 'ignored' | 'dead_lettered' | 'retried';

type Platform = JobEvent['platform'];
type OriginalLabels = 'platform' | 'event' | 'repo';
type ArcLabels = 'repository_full_name' | 'repository' | 'owner';

export interface WorkerMetrics {
  registry: Registry;
  /** Also counted under the original planner's names: ignored as discarded, dead-lettered or retried as errors. */
  processed: { inc(labels: { platform: Platform; outcome: ProcessOutcome }): void };
  processingSeconds: Histogram<'platform'>;
  jobWaitingSeconds: Histogram<'platform'>;
  jobRunningSeconds: Histogram<'platform'>;
  /**
   * A recorded job event under the original planner's and ARC's names: a consumed webhook, and
   * its waiting or running time by repository (ours, by platform, are observed by the processor).
   */
  recordJob(event: JobEvent): void;
}

export interface WorkerMetricsOptions {
  /** Repositories labelled by name (METRICS_REPO_LIMIT); the rest are `other`. */
  repoLimit?: number;
}

/** CI jobs wait seconds to hours for a runner and run minutes to hours. */
const JOB_DURATION_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1_800, 3_600, 7_200, 21_600, 86_400];

/** The original planner's buckets for job waiting and running times, kept so its quantiles read the same. */
const ORIGINAL_JOB_BUCKETS = [
  0, 30, 60, 120, 180, 300, 450, 600, 900, 1_200, 1_500, 1_800, 2_400, 3_000, 3_600, 4_800, 6_000, 7_200,
  9_000, 10_800, 14_400, 18_000, 21_600,
];

/**
 * The original's boundaries and four below 30 s, where most waits fall and the original's first
 * bucket (0–30 s) could only guess a quantile. Every original boundary is kept, so its queries
 * read the same buckets.
 */
const ORIGINAL_WAITING_BUCKETS = [0, 1, 5, 10, 20, ...ORIGINAL_JOB_BUCKETS.slice(1)];

/**
 * Boundaries that are all among ARC's defaults, so a query on one of its `le` values (`le="300"`)
 * still finds a bucket, with a third of the series.
 */
const ARC_QUEUE_BUCKETS = [1, 5, 10, 20, 30, 60, 120, 180, 300, 600, 900, 1_200, 1_800, 3_600];

const PLATFORMS: readonly Platform[] = ['github', 'gitlab'];

/** The original labelled events by the GitHub action that carried them. */
const ORIGINAL_EVENT: Record<JobEvent['action'], string> = {
  held: 'waiting',
  queued: 'queued',
  started: 'in_progress',
  completed: 'completed',
};

export function createWorkerMetrics(
  registry = new Registry(),
  options: WorkerMetricsOptions = {},
): WorkerMetrics {
  collectDefaultMetrics({ register: registry, prefix: 'runner_planner_worker_' });
  const repos = new RepoLabels(options.repoLimit ?? 500);
  registerRedeliveryCounters(registry);

  const processed = new Counter({
    name: 'runner_planner_worker_events_processed_total',
    help: 'Webhook events taken from the queue, by platform and outcome (recorded, ignored, dead_lettered, retried).',
    labelNames: ['platform', 'outcome'],
    registers: [registry],
  });
  const jobWaitingSeconds = new Histogram({
    name: 'runner_planner_job_waiting_seconds',
    help: 'How long CI jobs waited for a runner: created to started, observed when a start is recorded.',
    labelNames: ['platform'],
    buckets: JOB_DURATION_BUCKETS,
    registers: [registry],
  });
  const jobRunningSeconds = new Histogram({
    name: 'runner_planner_job_running_seconds',
    help: 'How long CI jobs ran: started to completed, observed when a completion is recorded.',
    labelNames: ['platform'],
    buckets: JOB_DURATION_BUCKETS,
    registers: [registry],
  });

  // The original planner's consumer metrics, under its Prometheus names: here the worker consumes the queue.
  const consumed = new Counter<'platform' | 'event'>({
    name: 'github_runner_planner_webhook_consumed_total',
    help: 'Job webhooks recorded, by platform and event (name of the original planner).',
    labelNames: ['platform', 'event'],
    registers: [registry],
  });
  const discarded = new Counter<'platform'>({
    name: 'github_runner_planner_webhook_discarded_total',
    help: 'Webhooks deliberately not recorded: untracked actions, jobs not for self-hosted runners (name of the original planner).',
    labelNames: ['platform'],
    registers: [registry],
  });
  const errors = new Counter<'platform'>({
    name: 'github_runner_planner_webhook_errors_total',
    help: 'Webhooks that failed to process: dead-lettered or retried (name of the original planner).',
    labelNames: ['platform'],
    registers: [registry],
  });
  const originalHistogram = (name: string, what: string, buckets: number[]) =>
    new Histogram<OriginalLabels>({
      name,
      help: `${what}, by repository (at most METRICS_REPO_LIMIT, the rest "other"; name of the original planner).`,
      labelNames: ['platform', 'event', 'repo'],
      buckets,
      registers: [registry],
    });
  const originalWaiting = originalHistogram(
    'github_runner_planner_webhook_job_waiting_seconds',
    'Job waiting time, created to started',
    ORIGINAL_WAITING_BUCKETS,
  );
  const originalRunning = originalHistogram(
    'github_runner_planner_webhook_job_running_seconds',
    'Job running time, started to completed',
    ORIGINAL_JOB_BUCKETS,
  );
  const arcQueue = new Histogram<ArcLabels>({
    name: 'github_workflow_job_queue_duration_seconds',
    help: `GitHub job queue time, created to started, by repository (at most METRICS_REPO_LIMIT, the rest "other"; ARC's name, a subset of its labels).`,
    labelNames: ['repository_full_name', 'repository', 'owner'],
    buckets: ARC_QUEUE_BUCKETS,
    registers: [registry],
  });

  // At 0 from the start: the original's ratio panels add and divide these sums, and a sum of
  // no series would leave them empty until the first discard or error.
  for (const platform of PLATFORMS) {
    discarded.inc({ platform }, 0);
    errors.inc({ platform }, 0);
    for (const event of Object.values(ORIGINAL_EVENT)) consumed.inc({ platform, event }, 0);
  }

  return {
    registry,
    processed: {
      inc({ platform, outcome }) {
        processed.inc({ platform, outcome });
        if (outcome === 'ignored') discarded.inc({ platform });
        if (outcome === 'dead_lettered' || outcome === 'retried') errors.inc({ platform });
      },
    },
    processingSeconds: new Histogram({
      name: 'runner_planner_worker_processing_duration_seconds',
      help: 'Time to process one queued webhook event, from taking it to recording it.',
      labelNames: ['platform'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    jobWaitingSeconds,
    jobRunningSeconds,

    recordJob(event) {
      const { platform } = event;
      const originalEvent = ORIGINAL_EVENT[event.action];
      consumed.inc({ platform, event: originalEvent });
      // Only events that are observed take one of the named repositories.
      const labels = () => ({ platform, event: originalEvent, repo: repos.label(event) });
      if (event.action === 'started' && event.startedAt) {
        const seconds = secondsBetween(event.createdAt, event.startedAt);
        const observed = labels();
        originalWaiting.observe(observed, seconds);
        if (platform === 'github') arcQueue.observe(arcLabels(observed.repo), seconds);
      }
      if (event.action === 'completed' && event.startedAt && event.completedAt) {
        originalRunning.observe(labels(), secondsBetween(event.startedAt, event.completedAt));
      }
    },
  };
}

function secondsBetween(from: Date, to: Date): number {
  return Math.max(0, (to.getTime() - from.getTime()) / 1000);
}

/** ARC's repository labels, all from the one bounded `owner/name` value. */
function arcLabels(repo: string): Record<ArcLabels, string> {
  const slash = repo.indexOf('/');
  if (slash < 0) return { repository_full_name: repo, repository: repo, owner: repo };
  return { repository_full_name: repo, repository: repo.slice(slash + 1), owner: repo.slice(0, slash) };
}
