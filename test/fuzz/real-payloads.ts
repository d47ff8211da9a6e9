import { gitlabJobHook } from '../support/system.js';
import { workflowJobExamples } from '../support/webhooks.js';

export type Platform = 'github' | 'gitlab';

/** Payloads the forges really send: the fuzzers start from these and bend them. */
export function realPayloads(platform: Platform): Record<string, unknown>[] {
  if (platform === 'github') return workflowJobExamples() as unknown as Record<string, unknown>[];
  const documented = gitlabJobHook();
  return ['created', 'pending', 'running', 'success', 'failed', 'canceled'].map((build_status) => ({
    ...documented,
    build_status,
  }));
}

/** The `event` header a forge sends with the payloads above. */
export const JOB_EVENT: Record<Platform, string> = { github: 'workflow_job', gitlab: 'Job Hook' };
