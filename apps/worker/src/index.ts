export { applyJobEvent } from './apply-event.js';
export {
  GitLabTagResolver,
  type GitLabTagResolverOptions,
  type JobTagSource,
  TagLookupError,
  TagRefusedError,
} from './gitlab-tags.js';
export { createWorkerMetrics, type WorkerMetrics } from './metrics.js';
export { createProcessor, GitLabNotConfiguredError, type ProcessResult } from './processor.js';
export {
  canReconcile,
  checkStaleJobs,
  createGitHubClient,
  createReconcileMetrics,
  createReconciler,
  type GitHubClient,
  GitLabJobLookup,
  type GitLabJobSource,
  RECONCILE_QUEUE,
  type ReconcileMetrics,
  type ReconcileOptions,
  type ReconcileProgress,
  type ReconcileReport,
  type Reconciler,
  reconcileOnce,
  startReconcileScheduler,
} from './reconcile/index.js';
export {
  RETENTION_QUEUE,
  type RetentionReport,
  type RetentionSettings,
  runRetentionPass,
} from './retention.js';
export { type RunningWorker, type StartWorkerOptions, startWorker } from './start.js';
