import {
  decodeWebhookBody,
  type JobEvent,
  type ParseOutcome,
  PayloadError,
  parseGitHubWorkflowJob,
  parseGitLabJobHook,
} from '@runner-planner/core';
import { type Database, InvalidInputError } from '@runner-planner/database';
import { type Attempt, DeadLetterError, type Envelope, RefusedError } from '@runner-planner/queue';
import { applyJobEvent } from './apply-event.js';
import { type JobTagSource, TagRefusedError } from './gitlab-tags.js';
import type { WorkerMetrics } from './metrics.js';

export interface ProcessorOptions {
  db: Database;
  metrics: WorkerMetrics;
  /** Absent when GITLAB_TOKEN is not configured. */
  gitlabTags: JobTagSource | undefined;
  githubSelfHostedOnly: boolean;
  githubImplicitLabels: readonly string[];
  /** Tries of an event whose tag lookup GitLab refuses (401, 403, 404) before it is dead-lettered (default 3). */
  refusedTries?: number;
  /** Wait between those tries (default a minute: GitLab replicas lag at most that before they are skipped). */
  refusedRetryMs?: number;
}

export type ProcessResult =
  | { outcome: 'recorded'; action: JobEvent['action'] }
  | { outcome: 'ignored'; reason: string };

const HANDLED_EVENTS: Record<Envelope['platform'], string> = { github: 'workflow_job', gitlab: 'Job Hook' };

/** The missing GitLab token is a configuration problem: the event waits until it is fixed. */
export class GitLabNotConfiguredError extends Error {
  override readonly name = 'GitLabNotConfiguredError';
  constructor() {
    super('GitLab job events need GITLAB_TOKEN (and GITLAB_URL) to resolve job tags');
  }
}

/** Turns one queued webhook into database writes; throws DeadLetterError for what can never succeed. */
export function createProcessor(options: ProcessorOptions) {
  const { db, metrics } = options;
  const refusedTries = options.refusedTries ?? 3;
  const refusedRetryMs = options.refusedRetryMs ?? 60_000;

  function parse(envelope: Envelope): ParseOutcome {
    if (envelope.event !== HANDLED_EVENTS[envelope.platform]) {
      return { kind: 'ignored', reason: `event ${envelope.event} is not handled` };
    }
    const payload = decodeWebhookBody(envelope.body, envelope.headers['content-type']);
    const receivedAt = new Date(envelope.receivedAt);
    return envelope.platform === 'github'
      ? parseGitHubWorkflowJob(payload, {
          selfHostedOnly: options.githubSelfHostedOnly,
          extraImplicitLabels: options.githubImplicitLabels,
          receivedAt,
        })
      : parseGitLabJobHook(payload, { receivedAt });
  }

  function labelsOf(event: JobEvent, attempt: Pick<Attempt, 'lastRefusedAt'>): () => Promise<string[]> {
    if (event.platform === 'github') return async () => event.labels;
    return async () => {
      if (options.gitlabTags === undefined) throw new GitLabNotConfiguredError();
      return options.gitlabTags.tags(event.projectId, event.id, attempt.lastRefusedAt);
    };
  }

  function observeDurations(event: JobEvent): void {
    if (event.action === 'started' && event.startedAt) {
      metrics.jobWaitingSeconds.observe(
        { platform: event.platform },
        Math.max(0, (event.startedAt.getTime() - event.createdAt.getTime()) / 1000),
      );
    }
    if (event.action === 'completed' && event.startedAt && event.completedAt) {
      metrics.jobRunningSeconds.observe(
        { platform: event.platform },
        Math.max(0, (event.completedAt.getTime() - event.startedAt.getTime()) / 1000),
      );
    }
  }

  /**
   * `attempt`: the tries of this event GitLab refused before this one (the queue counts them).
   * A refusal is retried a few times, since a job's 404 can come from a GitLab read replica
   * that has not seen it yet, then dead-lettered: a forged job id must not cost the token's
   * rate limit for a day of retries.
   */
  return async function process(
    envelope: Envelope,
    attempt: Pick<Attempt, 'refusals' | 'lastRefusedAt'> = { refusals: 0, lastRefusedAt: undefined },
  ): Promise<ProcessResult> {
    const platform = envelope.platform;
    const timer = metrics.processingSeconds.startTimer({ platform });
    try {
      const parsed = parse(envelope);
      if (parsed.kind === 'ignored') {
        metrics.processed.inc({ platform, outcome: 'ignored' });
        return { outcome: 'ignored', reason: parsed.reason };
      }
      await applyJobEvent(db, parsed.event, labelsOf(parsed.event, attempt));
      observeDurations(parsed.event);
      metrics.recordJob(parsed.event);
      metrics.processed.inc({ platform, outcome: 'recorded' });
      return { outcome: 'recorded', action: parsed.event.action };
    } catch (error) {
      if (error instanceof PayloadError || error instanceof InvalidInputError) {
        metrics.processed.inc({ platform, outcome: 'dead_lettered' });
        throw new DeadLetterError(error.message);
      }
      if (error instanceof TagRefusedError) {
        const tries = attempt.refusals + 1;
        if (tries >= refusedTries) {
          metrics.processed.inc({ platform, outcome: 'dead_lettered' });
          throw new DeadLetterError(`${error.message} (refused ${tries} times)`);
        }
        metrics.processed.inc({ platform, outcome: 'retried' });
        throw new RefusedError(error.message, refusedRetryMs);
      }
      metrics.processed.inc({ platform, outcome: 'retried' });
      throw error;
    } finally {
      timer();
    }
  };
}
