export { applyJobEvent } from './apply-event.js';
export { GitLabTagResolver, type JobTagSource, TagLookupError } from './gitlab-tags.js';
export { createWorkerMetrics, type WorkerMetrics } from './metrics.js';
export { createProcessor, GitLabNotConfiguredError, type ProcessResult } from './processor.js';
export {
  checkStaleJobs,
  createGitHubClient,
  createReconcileMetrics,
  type GitHubClient,
  GitLabJobLookup,
  type GitLabJobSource,
  RECONCILE_QUEUE,
  type ReconcileMetrics,
  type ReconcileOptions,
  type ReconcileReport,
  reconcileOnce,
  startReconcileScheduler,
} from './reconcile/index.js';
export { type RunningWorker, type StartWorkerOptions, startWorker } from './start.js';
