import type { EmitterWebhookEvent } from '@octokit/webhooks';
import { z } from 'zod';
import { describeInput, fieldError, problemsOf } from './body.js';
import { ACTION_OF_PHASE, type JobAction, type ParseOutcome, PayloadError } from './events.js';
import { hasLabel, stripImplicitLabels } from './labels.js';
import { phaseOfStatus } from './lifecycle.js';

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

/** The webhook actions that move a job; each is named after the status it reports. */
const TRACKED_ACTIONS = new Set(['waiting', 'queued', 'in_progress', 'completed']);

/**
 * What the delivery means for the job. The action says which status the job entered, except
 * that a `queued` delivery may describe a job deployment protection rules still hold
 * (`workflow_job.status: "waiting"`): the status wins there, as the job cannot take a runner.
 */
function actionOf(githubAction: string, status: string | undefined): JobAction {
  const phase = phaseOfStatus('github', githubAction) ?? 'waiting';
  if (phase === 'waiting' && status !== undefined && phaseOfStatus('github', status) === 'held') {
    return 'held';
  }
  return ACTION_OF_PHASE[phase];
}

/** The fields the parser uses, typed after GitHub's documentation (old payloads lack `created_at`). */
interface UsedWorkflowJobFields {
  id: WorkflowJob['id'];
  labels: string[];
  status?: string | undefined;
  runner_id?: number | null | undefined;
  runner_name?: string | null | undefined;
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
    status: z.string({ error: fieldError('workflow_job.status', 'a string') }).optional(),
    // Only tested for null: a completed job that no runner ever took did not start.
    runner_id: z.unknown().optional() as z.ZodType<number | null | undefined>,
    runner_name: z.unknown().optional() as z.ZodType<string | null | undefined>,
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
 * an action the truth model does not know or, with `selfHostedOnly`, a job that does not ask
 * for a `self-hosted` runner. `waiting` (and a `queued` whose job is still `waiting`) is a job
 * held by deployment protection rules: recorded, not counted. Throws PayloadError when the payload can never be
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
  if (!TRACKED_ACTIONS.has(githubAction)) {
    return { kind: 'ignored', reason: `workflow_job action ${JSON.stringify(githubAction)} is not tracked` };
  }

  const checked = workflowJobSchema.safeParse(payload.workflow_job);
  if (!checked.success) throw new PayloadError(problemsOf(checked.error));
  const job = checked.data;
  const id = String(job.id);
  const action = actionOf(githubAction, job.status);

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
  // Cancelled before a runner took it: its started_at is only the time it was queued.
  const neverRan = job.runner_id === null && job.runner_name === null;
  if (action === 'completed' && !neverRan) startedAt = timestampOf(job, 'started_at');
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
