import { type Config, pinoOptions, requireSetting } from '@runner-planner/config';
import { Database, migrate } from '@runner-planner/database';
import { errorText, logErrors, once, redactUrl } from '@runner-planner/process';
import { createWebhookWorker, WEBHOOK_QUEUE } from '@runner-planner/queue';
import type { Job } from 'bullmq';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { GitLabTagResolver, type JobTagSource } from './gitlab-tags.js';
import { createWorkerMetrics, type WorkerMetrics } from './metrics.js';
import { createProcessor } from './processor.js';
import {
  canReconcile,
  createReconciler,
  type Reconciler,
  type ReconcileScheduler,
  startReconcileScheduler,
} from './reconcile/index.js';
import { retentionEnabled, startRetentionScheduler } from './retention.js';

export interface RunningWorker {
  http: FastifyInstance;
  metrics: WorkerMetrics;
  /** The worker's logger (pino, LOG_LEVEL), the one its HTTP server logs with. */
  log: FastifyBaseLogger;
  /** Stops taking jobs, lets the ones in flight finish, then closes every connection. */
  close(): Promise<void>;
  /** While closing: the step it waits for, and the jobs still in flight (for the shutdown deadline's log). */
  pending(): string | undefined;
}

export interface StartWorkerOptions {
  /** Replaces the GitLab API client (tests point @gitbeaker at a local fake through GITLAB_URL instead). */
  gitlabTags?: JobTagSource;
  /** Listen for /health and /metrics (default true). */
  listen?: boolean;
  /** Fastify's `logger` option, which is also the worker's log; by default pino at `config.logLevel`, readable on a terminal (LOG_FORMAT). */
  logger?: FastifyServerOptions['logger'];
  /** Interface to listen on; LISTEN_HOST, else all of them. */
  host?: string;
  /**
   * Schedule reconcile passes (default true; they run only when a GitHub App, GITHUB_TOKEN or
   * GITLAB_TOKEN is configured, since there is nothing to ask otherwise).
   */
  reconcile?: boolean;
  /** Schedule retention passes (default true; they run when JOB_RETENTION or RAW_PAYLOAD_RETENTION is on). */
  retention?: boolean;
}

/** Jobs in flight, by id, told as `github-<delivery>` (delivery ids are no secret). */
const describeJobs = (jobs: ReadonlySet<string>) =>
  `${jobs.size} ${jobs.size === 1 ? 'job' : 'jobs'} in flight${jobs.size > 0 ? `: ${[...jobs].slice(0, 5).join(', ')}` : ''}`;

export async function startWorker(config: Config, options: StartWorkerOptions = {}): Promise<RunningWorker> {
  const databaseUrl = requireSetting(config.databaseUrl, 'DATABASE_URL', 'the database jobs are recorded in');
  // Created first: its logger is the worker's, the way the gateway and planner log through theirs.
  const http = Fastify({
    logger: options.logger === undefined ? pinoOptions(config) : options.logger,
  });
  const log = http.log;
  const redis = redactUrl(config.redisUrl);
  await migrate(databaseUrl);
  const signalErrors = once(log);
  const db = await Database.connect(databaseUrl, {
    staleAfterMs: config.pressureStaleAfterMs,
    poolSize: Math.max(4, Math.min(config.workerConcurrency, 20)),
    listenUrl: config.databaseListenUrl,
    preparedStatements: config.databasePreparedStatements,
    // A batch goes early once half the jobs in flight wait in it: the window never caps throughput.
    writeBatches: {
      windowMs: config.workerBatchWindowMs,
      flushAt: Math.max(1, Math.ceil(config.workerConcurrency / 2)),
    },
    // The job is recorded; only the planners' wake-up is late (their periodic read catches up).
    onSignalError: (error) =>
      signalErrors.tell(
        'pressure signal',
        { err: error },
        `pressure change not signalled to planners, who see it at their next periodic read: ${errorText(error)}`,
      ),
  });
  const metrics = createWorkerMetrics(undefined, { repoLimit: config.metricsRepoLimit });
  const gitlabTags =
    options.gitlabTags ??
    (config.gitlabToken
      ? new GitLabTagResolver({
          url: config.gitlabUrl,
          token: config.gitlabToken,
          refusalCacheMs: config.forgeRefusedRetryMs,
        })
      : undefined);

  const processJob = createProcessor({
    db,
    metrics,
    gitlabTags,
    githubSelfHostedOnly: config.githubSelfHostedOnly,
    githubImplicitLabels: config.githubImplicitLabels,
    refusedTries: config.forgeRefusedTries,
    refusedRetryMs: config.forgeRefusedRetryMs,
  });
  const inFlight = new Set<string>();
  const worker = createWebhookWorker(
    {
      redisUrl: config.redisUrl,
      prefix: config.queuePrefix,
      concurrency: config.workerConcurrency,
      lockMs: config.workerLockMs,
      deadLetters: { count: config.deadLetterMaxCount, ageMs: config.deadLetterMaxAgeMs },
    },
    async (envelope, attempt) => {
      const id = attempt.job.id ?? '?';
      inFlight.add(id);
      try {
        return await processJob(envelope, attempt);
      } finally {
        inFlight.delete(id);
      }
    },
  );
  // Connection errors are retried by ioredis: logged once per outage, not per reconnect attempt.
  logErrors(
    worker,
    log,
    'webhook queue consumer: Redis',
    { queue: WEBHOOK_QUEUE, redis },
    { recoveredOn: 'ready' },
  );
  logFailedJobs(worker, log);
  let reconciler: { scheduler: ReconcileScheduler; passes: Reconciler } | undefined;
  if ((options.reconcile ?? true) && canReconcile(config)) {
    const reconcileLog = log.child({ component: 'reconcile' });
    const passes = createReconciler(config, db, metrics.registry, {
      warn: (message, details) => reconcileLog.warn(details ?? {}, `reconcile: ${message}`),
      log: reconcileLog,
    });
    const scheduler = await startReconcileScheduler({
      redisUrl: config.redisUrl,
      prefix: config.queuePrefix,
      intervalMs: config.reconcileIntervalMs,
      run: () => passes.run(),
      log: reconcileLog,
    });
    reconciler = { scheduler, passes };
  }
  const retention =
    (options.retention ?? true) && retentionEnabled(config)
      ? await startRetentionScheduler(config, db, log.child({ component: 'retention' }))
      : undefined;

  http.get('/health', async () => ({ status: 'ok' }));
  http.get('/ready', async (_request, reply) => {
    const ready = worker.isRunning();
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'stopped' });
  });
  http.get('/metrics', async (_request, reply) =>
    reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
  );
  if (options.listen ?? true) {
    await http.listen({ host: options.host ?? config.listenHost ?? '0.0.0.0', port: config.workerPort });
  }

  let closing: string | undefined;
  const step = async (what: string, close: () => Promise<void>) => {
    closing = what;
    await close();
  };
  return {
    http,
    metrics,
    log,
    async close() {
      const passes = reconciler?.passes;
      const scheduler = reconciler?.scheduler;
      if (scheduler) await step('reconcile scheduler (a pass in flight ends first)', () => scheduler.close());
      if (retention) await step('retention scheduler (a pass in flight ends first)', () => retention.close());
      await step('webhook queue consumer', () => worker.close());
      if (passes) await step('reconciler', () => passes.close());
      await step('HTTP server', () => http.close());
      await step('database pool', () => db.close());
      closing = undefined;
    },
    pending() {
      if (closing === undefined && inFlight.size === 0) return undefined;
      const parts = closing === undefined ? [] : [`closing the ${closing}`];
      if (inFlight.size > 0) parts.push(describeJobs(inFlight));
      return parts.join('; ');
    },
  };
}

/**
 * A job that failed is retried by BullMQ with backoff, or dead-lettered, and counted in metrics;
 * this says why. A dead letter is logged each time (each needs a look); a retry once per distinct
 * cause, since a database outage fails every job the same way.
 */
function logFailedJobs(worker: ReturnType<typeof createWebhookWorker>, log: FastifyBaseLogger): void {
  const retries = once(log);
  worker.on('failed', (job: Job | undefined, error: Error) => {
    const text = errorText(error);
    const details = { queue: WEBHOOK_QUEUE, job: job?.id, attempt: job?.attemptsMade, error: text };
    // BullMQ sets finishedOn only when a job has failed for good.
    if (job === undefined || job.finishedOn !== undefined) {
      log.error(details, `webhook job ${job?.id ?? ''} dead-lettered: ${text}`);
    } else {
      retries.tell(text, details, `webhook job ${job.id} failed, will be retried: ${text}`);
    }
  });
}
