export { canReconcile, createReconciler, type Reconciler } from './from-config.js';
export {
  createGitHubClient,
  deliveriesToRedeliver,
  type GitHubClient,
  type GitHubClientOptions,
  type HookDelivery,
  type RateLimitWait,
} from './github.js';
export { GitLabJobLookup, type GitLabJobSource, type GitLabJobState } from './gitlab.js';
export { type CorrectionChange, createReconcileMetrics, type ReconcileMetrics } from './metrics.js';
export {
  LOOKBACK_INTERVALS,
  type ReconcileOptions,
  type ReconcileProgress,
  type ReconcileReport,
  type RedeliveryReport,
  reconcileOnce,
} from './reconcile.js';
export { RECONCILE_QUEUE, type ReconcileScheduler, startReconcileScheduler } from './scheduler.js';
export { checkStaleJobs, type StaleCheckReport } from './stale.js';
