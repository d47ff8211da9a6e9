import {
  decodeWebhookBody,
  type JobEvent,
  type ParseOutcome,
  PayloadError,
  parseGitHubWorkflowJob,
  parseGitLabJobHook,
} from '@runner-planner/core';
import { type Database, InvalidInputError } from '@runner-planner/database';
import { DeadLetterError, type Envelope } from '@runner-planner/queue';
import { applyJobEvent } from './apply-event.js';
import type { JobTagSource } from './gitlab-tags.js';
import type { WorkerMetrics } from './metrics.js';

export interface ProcessorOptions {
  db: Database;
  metrics: WorkerMetrics;
  /** Absent when GITLAB_TOKEN is not configured. */
  gitlabTags: JobTagSource | undefined;
  githubSelfHostedOnly: boolean;
  githubImplicitLabels: readonly string[];
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

  function labelsOf(event: JobEvent): () => Promise<string[]> {
    if (event.platform === 'github') return async () => event.labels;
    return async () => {
      if (options.gitlabTags === undefined) throw new GitLabNotConfiguredError();
      return options.gitlabTags.tags(event.projectId, event.id);
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

  return async function process(envelope: Envelope): Promise<ProcessResult> {
    const platform = envelope.platform;
    const timer = metrics.processingSeconds.startTimer({ platform });
    try {
      const parsed = parse(envelope);
      if (parsed.kind === 'ignored') {
        metrics.processed.inc({ platform, outcome: 'ignored' });
        return { outcome: 'ignored', reason: parsed.reason };
      }
      await applyJobEvent(db, parsed.event, labelsOf(parsed.event));
      observeDurations(parsed.event);
      metrics.processed.inc({ platform, outcome: 'recorded' });
      return { outcome: 'recorded', action: parsed.event.action };
    } catch (error) {
      if (error instanceof PayloadError || error instanceof InvalidInputError) {
        metrics.processed.inc({ platform, outcome: 'dead_lettered' });
        throw new DeadLetterError(error.message);
      }
      metrics.processed.inc({ platform, outcome: 'retried' });
      throw error;
    } finally {
      timer();
    }
  };
}
