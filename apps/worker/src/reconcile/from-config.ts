import type { Config } from '@runner-planner/config';
import type { Database } from '@runner-planner/database';
import { type Log, logErrors, redactUrl } from '@runner-planner/process';
import { workerConnection } from '@runner-planner/queue';
import { Registry } from 'prom-client';
import { type Warn, warnLog, warnOnStderr } from './failures.js';
import { createGitHubClient } from './github.js';
import { GitHubAppInstallations } from './github-installations.js';
import { GitLabJobLookup } from './gitlab.js';
import { createReconcileMetrics } from './metrics.js';
import { type ReconcileProgress, type ReconcileReport, reconcileOnce } from './reconcile.js';

export interface Reconciler {
  /** One pass with the configured forges; `ran: false` when another pass held the lock. */
  run(options?: { onProgress?: (progress: ReconcileProgress) => void }): Promise<ReconcileReport>;
  close(): Promise<void>;
}

export interface ReconcilerOptions {
  /**
   * Where problems go: what failed in a pass and what the forge answered, once per distinct
   * cause and pass; an owner without an installation of the GitHub App and no GITHUB_TOKEN to
   * fall back on, once until it is checked again; octokit's warnings. Default: a line on stderr.
   */
  warn?: Warn;
  /** Where the errors of the reconciler's Redis connection go (default: a line on stderr). */
  log?: Log;
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
  options: ReconcilerOptions = {},
): Reconciler {
  const redis = workerConnection(config.redisUrl);
  const warn = options.warn ?? warnOnStderr;
  // Commands wait for a reconnect and fail the pass if it does not come; this tells why, once.
  logErrors(
    redis,
    options.log ?? warnLog(warn),
    'reconcile lock connection to Redis',
    { redis: redactUrl(config.redisUrl) },
    { recoveredOn: 'ready' },
  );
  const metrics = createReconcileMetrics(registry);
  const githubWarn = (message: string) => warn(`GitHub client: ${message}`);
  const githubApp = config.githubApp
    ? createGitHubClient({ baseUrl: config.githubApiUrl, app: config.githubApp, warn: githubWarn })
    : undefined;
  // With an App, each request uses the installation that reaches its owner, GITHUB_TOKEN otherwise.
  const github =
    config.githubApp && githubApp
      ? createGitHubClient({
          baseUrl: config.githubApiUrl,
          token: config.githubToken,
          warn: githubWarn,
          installations: new GitHubAppInstallations({
            appClient: githubApp,
            appId: config.githubApp.appId,
            pinned: config.githubAppInstallationIds,
            // With a personal token to fall back on, an owner without the App is no problem.
            onMiss: config.githubToken ? undefined : warn,
          }),
        })
      : config.githubToken
        ? createGitHubClient({ baseUrl: config.githubApiUrl, token: config.githubToken, warn: githubWarn })
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
        warn,
      }),
    async close() {
      redis.disconnect();
    },
  };
}
