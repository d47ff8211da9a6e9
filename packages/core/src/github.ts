import type { EmitterWebhookEvent } from '@octokit/webhooks';
import { z } from 'zod';
import { describeInput, fieldError, problemsOf } from './body.js';
import { type JobAction, type ParseOutcome, PayloadError } from './events.js';
import { hasLabel, stripImplicitLabels } from './labels.js';

/**
 * A `workflow_job` payload as GitHub documents it. Types only: webhook input is untrusted, so
 * the parser checks at run time every field it uses.
 */
export type GitHubWorkflowJobPayload = EmitterWebhookEvent<'workflow_job'>['payload'];
type WorkflowJob = GitHubWorkflowJobPayload['workflow_job'];

export interface GitHubParseOptions {
  /** Ignore jobs that do not ask for a `self-hosted` runner (`GITHUB_SELF_HOSTED_ONLY`). */
  selfHostedOnly: boolean;
  /** Labels every runner carries, stripped like GitHub's own implicit ones. */
  extraImplicitLabels?: readonly string[];
  /** When the webhook arrived: the time of an event whose payload lacks its own. */
  receivedAt: Date;
}

/** GitHub's action → what it means for the job; other actions (`waiting`, …) are ignored. */
const ACTIONS: Readonly<Record<string, JobAction>> = {
  queued: 'queued',
  in_progress: 'started',
  completed: 'completed',
};

/** The fields the parser uses, typed after GitHub's documentation (old payloads lack `created_at`). */
interface UsedWorkflowJobFields {
  id: WorkflowJob['id'];
  labels: string[];
  created_at?: WorkflowJob['created_at'] | null | undefined;
  started_at?: WorkflowJob['started_at'] | null | undefined;
  completed_at?: WorkflowJob['completed_at'] | undefined;
}

function timestampField(path: string) {
  return z
    .string({ error: fieldError(path, 'a timestamp string') })
    .nullable()
    .optional();
}

const isoDateTime = z.iso.datetime({ offset: true });

type TimestampField = 'created_at' | 'started_at' | 'completed_at';

/** The field as a Date (null when absent), parsed only when used: ISO 8601 with a zone. */
function timestampOf(job: UsedWorkflowJobFields, field: TimestampField): Date | null {
  const text = job[field];
  if (text == null) return null;
  const date = new Date(text);
  if (!isoDateTime.safeParse(text).success || Number.isNaN(date.getTime())) {
    throw new PayloadError(
      `workflow_job.${field} is not a valid ISO 8601 timestamp: got ${describeInput(text)}`,
    );
  }
  return date;
}

const workflowJobSchema: z.ZodType<UsedWorkflowJobFields> = z.object(
  {
    id: z
      .int({ error: fieldError('workflow_job.id', 'a positive integer') })
      .positive({ error: fieldError('workflow_job.id', 'a positive integer') }),
    labels: z.array(z.string({ error: 'workflow_job.labels must contain only strings' }), {
      error: fieldError('workflow_job.labels', 'an array of strings'),
    }),
    created_at: timestampField('workflow_job.created_at'),
    started_at: timestampField('workflow_job.started_at'),
    completed_at: timestampField('workflow_job.completed_at'),
  },
  { error: fieldError('workflow_job', 'an object') },
);

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function requireValidDate(date: Date, what: string): Date {
  if (!(date instanceof Date) || Number.isNaN(date.getTime())) {
    throw new RangeError(`${what} must be a valid Date`);
  }
  return date;
}

/**
 * Turns a GitHub `workflow_job` webhook payload into a job event, or says why it is ignored:
 * an action that does not change pressure (`waiting`, …) or, with `selfHostedOnly`, a job that
 * does not ask for a `self-hosted` runner. Throws PayloadError when the payload can never be
 * processed (not an object, missing or malformed `workflow_job` fields).
 */
export function parseGitHubWorkflowJob(payload: unknown, options: GitHubParseOptions): ParseOutcome {
  const receivedAt = requireValidDate(options.receivedAt, 'options.receivedAt');
  if (!isObject(payload)) {
    throw new PayloadError(`workflow_job payload must be a JSON object, got ${describeInput(payload)}`);
  }
  const githubAction = payload.action;
  if (typeof githubAction !== 'string') {
    throw new PayloadError(fieldError('action', 'a string')({ input: githubAction }));
  }
  const action = Object.hasOwn(ACTIONS, githubAction) ? ACTIONS[githubAction] : undefined;
  if (action === undefined) {
    return { kind: 'ignored', reason: `workflow_job action ${JSON.stringify(githubAction)} is not tracked` };
  }

  const checked = workflowJobSchema.safeParse(payload.workflow_job);
  if (!checked.success) throw new PayloadError(problemsOf(checked.error));
  const job = checked.data;
  const id = String(job.id);

  if (options.selfHostedOnly && !hasLabel(job.labels, 'self-hosted')) {
    return {
      kind: 'ignored',
      reason: `workflow_job ${id} is not for a self-hosted runner (labels: ${JSON.stringify(job.labels)})`,
    };
  }

  // One documented in_progress payload has no created_at: its start is the best bound.
  const createdAt = timestampOf(job, 'created_at') ?? timestampOf(job, 'started_at') ?? receivedAt;
  // A queued payload may carry a started_at: it is not a start.
  let startedAt: Date | null = null;
  if (action === 'started') startedAt = timestampOf(job, 'started_at') ?? receivedAt;
  if (action === 'completed') startedAt = timestampOf(job, 'started_at');
  const completedAt = action === 'completed' ? (timestampOf(job, 'completed_at') ?? receivedAt) : null;
  return {
    kind: 'job',
    event: {
      platform: 'github',
      id,
      action,
      labels: stripImplicitLabels(job.labels, options.extraImplicitLabels),
      createdAt,
      startedAt,
      completedAt,
      raw: { [githubAction]: payload },
    },
  };
}
