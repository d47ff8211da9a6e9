import type { JobEvent } from '@runner-planner/core';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createWorkerMetrics } from '../src/index.js';

const CREATED = new Date('2026-01-01T10:00:00Z');
const STARTED = new Date('2026-01-01T10:02:00Z');
const COMPLETED = new Date('2026-01-01T10:12:00Z');

function githubStart(repo: unknown, id = '1'): JobEvent {
  return {
    platform: 'github',
    id,
    action: 'started',
    labels: ['self-hosted'],
    createdAt: CREATED,
    startedAt: STARTED,
    completedAt: null,
    raw: { in_progress: { action: 'in_progress', repository: { full_name: repo } } },
  };
}

function gitlabCompletion(project: string): JobEvent {
  return {
    platform: 'gitlab',
    id: '7',
    projectId: 380,
    action: 'completed',
    createdAt: CREATED,
    startedAt: STARTED,
    completedAt: COMPLETED,
    raw: { success: { project: { path_with_namespace: project }, project_name: 'Group / Project' } },
  };
}

/** Each sample of `name` (`…_count`, `…_total`): its labels as Prometheus prints them, and its value. */
async function samples(registry: Registry, name: string): Promise<Record<string, number>> {
  const found: Record<string, number> = {};
  for (const line of (await registry.metrics()).split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match?.[1] === name) found[match[2] ?? ''] = Number(match[3]);
  }
  return found;
}

describe('worker metrics under the original planner’s and ARC’s names', () => {
  it('name the first METRICS_REPO_LIMIT repositories and count every later one as other', async () => {
    const registry = new Registry();
    const metrics = createWorkerMetrics(registry, { repoLimit: 2 });
    for (const repo of ['octo/one', 'octo/two', 'octo/three', 'evil/x-1', 'evil/x-2', 'octo/one']) {
      metrics.recordJob(githubStart(repo));
    }

    const counts = await samples(registry, 'github_runner_planner_webhook_job_waiting_seconds_count');
    expect(counts).toEqual({
      'platform="github",event="in_progress",repo="octo/one"': 2,
      'platform="github",event="in_progress",repo="octo/two"': 1,
      'platform="github",event="in_progress",repo="other"': 3,
    });
    expect(await samples(registry, 'github_workflow_job_queue_duration_seconds_count')).toEqual({
      'repository_full_name="octo/one",repository="one",owner="octo"': 2,
      'repository_full_name="octo/two",repository="two",owner="octo"': 1,
      'repository_full_name="other",repository="other",owner="other"': 3,
    });
    // Two minutes of waiting, in the original's 120 s bucket and ARC's.
    const sums = await samples(registry, 'github_runner_planner_webhook_job_waiting_seconds_sum');
    expect(sums['platform="github",event="in_progress",repo="octo/two"']).toBe(120);
    expect(await samples(registry, 'github_runner_planner_webhook_consumed_total')).toMatchObject({
      'platform="github",event="in_progress"': 6,
      'platform="github",event="completed"': 0,
    });
  });

  it('label GitLab jobs by project path, never by a name that cannot be a repository', async () => {
    const registry = new Registry();
    const metrics = createWorkerMetrics(registry, { repoLimit: 10 });
    metrics.recordJob(gitlabCompletion('gitlab-org/sub/gitlab-test'));
    for (const bad of ['no-slash', 'a/b c', `${'a'.repeat(300)}/b`, 42, ''])
      metrics.recordJob(githubStart(bad));

    expect(await samples(registry, 'github_runner_planner_webhook_job_running_seconds_count')).toEqual({
      'platform="gitlab",event="completed",repo="gitlab-org/sub/gitlab-test"': 1,
    });
    expect(await samples(registry, 'github_runner_planner_webhook_job_waiting_seconds_count')).toEqual({
      'platform="github",event="in_progress",repo="other"': 5,
    });
    // ARC's metric is about GitHub jobs only.
    expect(await samples(registry, 'github_workflow_job_queue_duration_seconds_count')).toEqual({
      'repository_full_name="other",repository="other",owner="other"': 5,
    });
  });

  it('name no repository at all with a limit of 0', async () => {
    const registry = new Registry();
    const metrics = createWorkerMetrics(registry, { repoLimit: 0 });
    metrics.recordJob(githubStart('octo/one'));
    expect(await samples(registry, 'github_runner_planner_webhook_job_waiting_seconds_count')).toEqual({
      'platform="github",event="in_progress",repo="other"': 1,
    });
  });

  it('count ignored events as discarded and failed ones as errors, and redeliveries from the start', async () => {
    const registry = new Registry();
    const metrics = createWorkerMetrics(registry);
    metrics.processed.inc({ platform: 'github', outcome: 'ignored' });
    metrics.processed.inc({ platform: 'github', outcome: 'dead_lettered' });
    metrics.processed.inc({ platform: 'gitlab', outcome: 'retried' });
    metrics.processed.inc({ platform: 'gitlab', outcome: 'recorded' });

    // Both platforms from the start, so the original's `discarded + consumed` panels have data.
    expect(await samples(registry, 'github_runner_planner_webhook_discarded_total')).toEqual({
      'platform="github"': 1,
      'platform="gitlab"': 0,
    });
    expect(await samples(registry, 'github_runner_planner_webhook_errors_total')).toEqual({
      'platform="github"': 1,
      'platform="gitlab"': 1,
    });
    expect(await samples(registry, 'runner_planner_worker_events_processed_total')).toMatchObject({
      'platform="gitlab",outcome="recorded"': 1,
    });
    // Present at 0 before any reconcile pass, so the original's redelivery panels have data.
    expect(await samples(registry, 'github_runner_webhook_redelivery_count_total')).toEqual({ '': 0 });
    expect(await samples(registry, 'github_runner_webhook_redelivery_errors_total')).toEqual({ '': 0 });
  });
});
