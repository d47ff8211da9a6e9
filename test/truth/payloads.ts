/**
 * The simulator's webhooks as the forges send them: GitLab's documented Job Hook example and
 * GitHub's `workflow_job` examples from @octokit/webhooks-examples, with the job's own fields
 * filled in. Timestamps are the simulator's (close to now, so the staleness window keeps them).
 */
import type { FakeGitHubJob, FakeGitLabJob } from '@runner-planner/testkit';
import { gitlabJobHook } from '../support/system.js';
import { workflowJobExamples } from '../support/webhooks.js';
import type { GitHubJobState, GitLabJobState, Webhook } from './model.js';

/** The repository every simulated GitHub job belongs to (reconciliation reads it from the payload). */
export const GITHUB_REPOSITORY = 'truth/sim';

/** `2021-02-23T02:41:37.886Z` → `2021-02-23T02:41:37Z`, as GitLab's `*_iso` fields. */
function isoSeconds(iso: string | null): string | null {
  return iso === null ? null : iso.replace(/\.\d+Z$/, 'Z');
}

function seconds(from: string | null, to: string | null): number | null {
  return from === null || to === null ? null : (Date.parse(to) - Date.parse(from)) / 1000;
}

let docsExample: Record<string, unknown> | undefined;

export function gitlabPayload(job: GitLabJobState): Record<string, unknown> {
  docsExample ??= gitlabJobHook();
  const example = docsExample as Record<string, Record<string, unknown>>;
  const ran = job.startedAt !== null;
  return {
    ...example,
    build_id: job.id,
    build_name: job.name,
    build_stage: ['build', 'test', 'deploy'][job.stage],
    build_status: job.status,
    build_created_at: job.createdAt,
    build_created_at_iso: isoSeconds(job.createdAt),
    build_started_at: job.startedAt,
    build_started_at_iso: isoSeconds(job.startedAt),
    build_finished_at: job.finishedAt,
    build_finished_at_iso: isoSeconds(job.finishedAt),
    build_duration: seconds(job.startedAt, job.finishedAt),
    build_queued_duration: null,
    build_allow_failure: job.allowFailure,
    build_failure_reason: job.status === 'failed' ? 'script_failure' : 'unknown_failure',
    retries_count: job.retries,
    pipeline_id: job.pipelineId,
    project_id: job.projectId,
    commit: {
      ...example.commit,
      id: job.pipelineId,
      status: job.status === 'created' ? 'created' : 'running',
    },
    project: { ...example.project, id: job.projectId },
    // The runner that took the job (its own tags, not the job's); none before a runner did.
    runner: ran ? example.runner : null,
  };
}

/** The job as GitLab's `GET /projects/:id/jobs/:job_id` answers (the fields the fake serves). */
export function gitlabApiJob(job: GitLabJobState): FakeGitLabJob {
  return {
    id: job.id,
    tag_list: job.tags,
    status: job.status,
    created_at: job.createdAt,
    started_at: job.startedAt,
    finished_at: job.finishedAt,
  };
}

type Example = Record<string, unknown> & {
  action: string;
  workflow_job: Record<string, unknown>;
  repository?: Record<string, unknown>;
};

let examples: Example[] | undefined;

/** The example GitHub documents for this action (and, for `queued`, whether deployment rules hold it). */
function exampleFor(action: string, held: boolean): Example {
  examples ??= workflowJobExamples() as unknown as Example[];
  const found = examples.find(
    (example) =>
      example.action === action &&
      (action !== 'queued' || (example.workflow_job.status === 'waiting') === held) &&
      // The completed example that ran on a runner; its failure twin has the same shape.
      (action !== 'completed' || example.workflow_job.conclusion === 'success') &&
      (action !== 'in_progress' || typeof example.workflow_job.created_at === 'string'),
  );
  if (found === undefined)
    throw new Error(`no @octokit/webhooks-examples workflow_job example for ${action}`);
  return found;
}

export function githubPayload(
  action: 'queued' | 'waiting' | 'in_progress' | 'completed',
  job: GitHubJobState,
): Record<string, unknown> {
  // A queued job that deployment protection rules hold says so in its status.
  const status = action === 'queued' && job.status === 'waiting' ? 'waiting' : action;
  const example = exampleFor(action, status === 'waiting');
  const ran = job.runner !== null;
  const workflowJob: Record<string, unknown> = {
    ...example.workflow_job,
    id: job.id,
    run_id: job.runId,
    run_attempt: job.attempt,
    name: job.name,
    status,
    conclusion: action === 'completed' ? job.conclusion : null,
    labels: job.labels,
    created_at: job.createdAt,
    // GitHub fills started_at from the moment a job is queued; only a runner makes it a start.
    started_at: job.startedAt ?? job.createdAt,
    completed_at: action === 'completed' ? job.completedAt : null,
    runner_id: ran ? job.runner?.id : null,
    runner_name: ran ? job.runner?.name : null,
    runner_group_id: ran ? 1 : null,
    runner_group_name: ran ? 'Default' : null,
    steps: ran ? example.workflow_job.steps : [],
  };
  return {
    ...example,
    workflow_job: workflowJob,
    repository: { ...example.repository, name: 'sim', full_name: GITHUB_REPOSITORY },
  };
}

/** The job as `GET /repos/{owner}/{repo}/actions/jobs/{id}` answers. */
export function githubApiJob(job: GitHubJobState): FakeGitHubJob {
  return {
    id: job.id,
    status: job.status,
    conclusion: job.conclusion,
    created_at: job.createdAt,
    started_at: job.startedAt ?? job.createdAt,
    completed_at: job.completedAt,
    labels: job.labels,
  };
}

export function payloadOf(webhook: Webhook): Record<string, unknown> {
  return webhook.platform === 'gitlab'
    ? gitlabPayload(webhook.job)
    : githubPayload(webhook.action, webhook.job);
}
