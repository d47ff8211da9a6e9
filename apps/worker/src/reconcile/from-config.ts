import type { Config } from '@runner-planner/config';
import type { Database } from '@runner-planner/database';
import { workerConnection } from '@runner-planner/queue';
import { Registry } from 'prom-client';
import { createGitHubClient } from './github.js';
import { GitLabJobLookup } from './gitlab.js';
import { createReconcileMetrics } from './metrics.js';
import { type ReconcileProgress, type ReconcileReport, reconcileOnce } from './reconcile.js';

export interface Reconciler {
  /** One pass with the configured forges; `ran: false` when another pass held the lock. */
  run(options?: { onProgress?: (progress: ReconcileProgress) => void }): Promise<ReconcileReport>;
  close(): Promise<void>;
}

/** Whether the configuration names a forge API to reconcile against. */
export function canReconcile(config: Config): boolean {
  return Boolean(config.githubToken || config.gitlabToken || config.githubApp);
}

/** The forge clients, Redis connection and metrics a reconcile pass needs, from the configuration. */
export function createReconciler(
  config: Config,
  db: Database,
  registry: Registry = new Registry(),
): Reconciler {
  const redis = workerConnection(config.redisUrl);
  redis.on('error', () => {});
  const metrics = createReconcileMetrics(registry);
  const github = config.githubToken
    ? createGitHubClient({ baseUrl: config.githubApiUrl, token: config.githubToken })
    : undefined;
  const githubApp = config.githubApp
    ? createGitHubClient({ baseUrl: config.githubApiUrl, app: config.githubApp })
    : undefined;
  const gitlab = config.gitlabToken
    ? new GitLabJobLookup({ url: config.gitlabUrl, token: config.gitlabToken })
    : undefined;
  return {
    run: (options = {}) =>
      reconcileOnce({
        db,
        redis,
        prefix: config.queuePrefix,
        metrics,
        github,
        githubHooks: config.githubHooks,
        githubApp,
        gitlab,
        intervalMs: config.reconcileIntervalMs,
        staleAfterMs: config.reconcileStaleAfterMs,
        heldAfterMs: config.reconcileHeldAfterMs,
        batchSize: config.reconcileBatchSize,
        onProgress: options.onProgress,
      }),
    async close() {
      redis.disconnect();
    },
  };
}
