import { type Config, requireSetting } from '@runner-planner/config';
import { Database, migrate } from '@runner-planner/database';
import { createWebhookWorker } from '@runner-planner/queue';
import Fastify, { type FastifyInstance } from 'fastify';
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

export interface RunningWorker {
  http: FastifyInstance;
  metrics: WorkerMetrics;
  /** Stops taking jobs, lets the ones in flight finish, then closes every connection. */
  close(): Promise<void>;
}

export interface StartWorkerOptions {
  /** Replaces the GitLab API client (tests point @gitbeaker at a local fake through GITLAB_URL instead). */
  gitlabTags?: JobTagSource;
  /** Listen for /health and /metrics (default true). */
  listen?: boolean;
  /**
   * Schedule reconcile passes (default true; they run only when GITHUB_TOKEN or GITLAB_TOKEN
   * is set, since there is nothing to ask otherwise).
   */
  reconcile?: boolean;
}

export async function startWorker(config: Config, options: StartWorkerOptions = {}): Promise<RunningWorker> {
  const databaseUrl = requireSetting(config.databaseUrl, 'DATABASE_URL', 'the database jobs are recorded in');
  await migrate(databaseUrl);
  const db = await Database.connect(databaseUrl, {
    staleAfterMs: config.pressureStaleAfterMs,
    poolSize: Math.max(4, Math.min(config.workerConcurrency, 20)),
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

  const process = createProcessor({
    db,
    metrics,
    gitlabTags,
    githubSelfHostedOnly: config.githubSelfHostedOnly,
    githubImplicitLabels: config.githubImplicitLabels,
    refusedTries: config.forgeRefusedTries,
    refusedRetryMs: config.forgeRefusedRetryMs,
  });
  const worker = createWebhookWorker(
    {
      redisUrl: config.redisUrl,
      prefix: config.queuePrefix,
      concurrency: config.workerConcurrency,
      lockMs: config.workerLockMs,
      deadLetters: { count: config.deadLetterMaxCount, ageMs: config.deadLetterMaxAgeMs },
    },
    process,
  );
  let reconciler: { scheduler: ReconcileScheduler; passes: Reconciler } | undefined;
  if ((options.reconcile ?? true) && canReconcile(config)) {
    const passes = createReconciler(config, db, metrics.registry);
    const scheduler = await startReconcileScheduler({
      redisUrl: config.redisUrl,
      prefix: config.queuePrefix,
      intervalMs: config.reconcileIntervalMs,
      run: () => passes.run(),
    });
    reconciler = { scheduler, passes };
  }

  // Failures are retried or dead-lettered by BullMQ and counted in metrics; connection errors
  // are retried by ioredis. Without a listener Node would treat them as uncaught.
  worker.on('error', () => {});

  const http = Fastify({ logger: { level: config.logLevel } });
  http.get('/health', async () => ({ status: 'ok' }));
  http.get('/ready', async (_request, reply) => {
    const ready = worker.isRunning();
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'stopped' });
  });
  http.get('/metrics', async (_request, reply) =>
    reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
  );
  if (options.listen ?? true) await http.listen({ host: '0.0.0.0', port: config.workerPort });

  return {
    http,
    metrics,
    async close() {
      await reconciler?.scheduler.close();
      await worker.close();
      await reconciler?.passes.close();
      await http.close();
      await db.close();
    },
  };
}
