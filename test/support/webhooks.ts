import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { Webhooks } from '@octokit/webhooks';

export const GITHUB_SECRET = 'e2e-github-secret';
export const GITLAB_WEBHOOK_TOKEN = 'e2e-gitlab-webhook-token';

const signer = new Webhooks({ secret: GITHUB_SECRET });

/** POSTs a GitHub webhook signed the way GitHub signs it. */
export async function sendGitHub(
  gatewayUrl: string,
  payload: unknown,
  options: { event?: string; delivery?: string; body?: string } = {},
): Promise<Response> {
  const body = options.body ?? JSON.stringify(payload);
  return fetch(`${gatewayUrl}/webhooks/github`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-github-event': options.event ?? 'workflow_job',
      'x-github-delivery': options.delivery ?? randomUUID(),
      'x-hub-signature-256': await signer.sign(body),
    },
    body,
  });
}

/** POSTs a GitLab Job Hook with the webhook's secret token. */
export async function sendGitLab(
  gatewayUrl: string,
  payload: unknown,
  options: { delivery?: string } = {},
): Promise<Response> {
  return fetch(`${gatewayUrl}/webhooks/gitlab`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-gitlab-event': 'Job Hook',
      'x-gitlab-token': GITLAB_WEBHOOK_TOKEN,
      'x-gitlab-event-uuid': options.delivery ?? randomUUID(),
    },
    body: JSON.stringify(payload),
  });
}

interface WorkflowJobExample {
  action: string;
  workflow_job: { id: number; labels: string[]; status: string };
}

export function workflowJobExamples(): WorkflowJobExample[] {
  const all = createRequire(import.meta.url)('@octokit/webhooks-examples') as {
    name: string;
    examples: WorkflowJobExample[];
  }[];
  return all.find((entry) => entry.name === 'workflow_job')?.examples ?? [];
}

/**
 * A `workflow_job` webhook of job `id` with `labels` (self-hosted first, as GitHub lists them),
 * in the shape GitHub sends: queued, or completed successfully.
 */
export function workflowJobPayload(id: number, action: 'queued' | 'completed', labels: string[]) {
  const at = new Date().toISOString();
  return {
    action,
    workflow_job: {
      id,
      run_id: 1,
      status: action,
      conclusion: action === 'completed' ? 'success' : null,
      labels,
      created_at: at,
      started_at: at,
      completed_at: action === 'completed' ? at : null,
      name: 'build',
      runner_id: null,
      runner_name: null,
      runner_group_id: null,
      runner_group_name: null,
      workflow_name: 'ci',
      head_branch: 'main',
      head_sha: 'abc',
      html_url: 'https://github.com/octo/repo/actions/runs/1/job/1',
      url: 'https://api.github.com/repos/octo/repo/actions/jobs/1',
      run_url: 'https://api.github.com/repos/octo/repo/actions/runs/1',
      check_run_url: 'https://api.github.com/repos/octo/repo/check-runs/1',
      node_id: 'x',
      run_attempt: 1,
      steps: [],
    },
    repository: { id: 1, full_name: 'octo/repo', name: 'repo', owner: { login: 'octo' } },
    sender: { login: 'octo' },
  };
}
