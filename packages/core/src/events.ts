import type { JobPhase } from './lifecycle.js';
import type { KnownPlatform } from './types.js';

/**
 * What a webhook says happened to a job: `held` (known, not yet offered to runners), `queued`
 * (waits for a runner), `started`, `completed`.
 */
export type JobAction = 'held' | 'queued' | 'started' | 'completed';

/** The action that records a job entering each phase of the truth model. */
export const ACTION_OF_PHASE: Readonly<Record<JobPhase, JobAction>> = {
  held: 'held',
  waiting: 'queued',
  running: 'started',
  ended: 'completed',
};

interface JobEventBase {
  platform: KnownPlatform;
  /** The platform's job id as a decimal string (GitHub `workflow_job.id`, GitLab `build_id`). */
  id: string;
  action: JobAction;
  createdAt: Date;
  /** Set only by events that prove a start (never by a `queued` payload). */
  startedAt: Date | null;
  completedAt: Date | null;
  /** The payload under the name of the forge's own action/status: `{ in_progress: {...} }`. */
  raw: Record<string, unknown>;
}

export interface GitHubJobEvent extends JobEventBase {
  platform: 'github';
  /** Normalised, with GitHub's implicit labels stripped. */
  labels: string[];
}

/** GitLab's Job Hook does not carry the job's tags: the worker resolves them through the API. */
export interface GitLabJobEvent extends JobEventBase {
  platform: 'gitlab';
  projectId: number;
}

export type JobEvent = GitHubJobEvent | GitLabJobEvent;

/** A parsed webhook: a job event to record, or a reason it is deliberately not recorded. */
export type ParseOutcome = { kind: 'job'; event: JobEvent } | { kind: 'ignored'; reason: string };

/** A payload that can never be processed (not JSON, not the expected shape): dead-letter it. */
export class PayloadError extends Error {
  override readonly name = 'PayloadError';
}
