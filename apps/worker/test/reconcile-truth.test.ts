import type { Envelope } from '@runner-planner/queue';
import { Registry } from 'prom-client';
import { beforeEach, describe, expect, it } from 'vitest';
import { createProcessor, createWorkerMetrics, GitLabTagResolver, reconcileOnce } from '../src/index.js';
import { MINUTE, useReconcileWorld } from './reconcile-world.js';
import { githubWorkflowJob, gitlabJobHook, webhookEnvelope } from './support.js';

// Reconciliation maps what the forge API reports through the same truth model as webhooks
// (docs/pressure.md): held jobs are looked up only every RECONCILE_HELD_AFTER, a held job the
// forge now offers to runners starts counting, and a waiting job the forge holds again stops.
const world = useReconcileWorld('reconcile_truth');
const { fixture, queue } = world;
const PROJECT = 380;
const REPO = 'octo/repo';

beforeEach(async () => {
  await queue.cleanup();
  world.github.requests.length = 0;
  world.gitlab.requests.length = 0;
  await fixture.db.addFlavor({
    platform: 'gitlab',
    name: 'docker',
    labels: ['docker'],
    priority: 0,
    isDisabled: false,
    minimumPressure: 0,
  });
  await fixture.db.addFlavor({
    platform: 'github',
    name: 'k8s',
    labels: ['k8s'],
    priority: 0,
    isDisabled: false,
    minimumPressure: 0,
  });
});

const process = (platform: Envelope['platform'], body: unknown) =>
  createProcessor({
    db: fixture.db,
    metrics: createWorkerMetrics(new Registry()),
    gitlabTags: new GitLabTagResolver({ url: world.gitlab.url, token: world.gitlab.token }),
    githubSelfHostedOnly: true,
    githubImplicitLabels: [],
  })(webhookEnvelope(platform, body));

/** The documented Job Hook for a job created just now (the documented one is from 2021: stale). */
const gitlabHook = (id: number, status: string) =>
  gitlabJobHook({
    build_id: id,
    project_id: PROJECT,
    build_status: status,
    build_created_at_iso: new Date().toISOString(),
  });

/** A GitLab job of which GitLab sent `status` hooks, with its tags known to the fake API. */
async function gitlabJob(id: number, ...statuses: string[]) {
  world.gitlab.setJob(PROJECT, { id, tag_list: ['docker'], status: statuses.at(-1) ?? 'created' });
  for (const status of statuses) {
    await process('gitlab', gitlabHook(id, status));
  }
  // Only the lookups reconciliation makes from here on.
  world.gitlab.requests.length = 0;
}

/** Every recorded job's last event happened `minutes` ago. */
async function ageEvents(minutes: number) {
  await fixture.sql.query(`UPDATE job SET updated_at = now() - $1 * interval '1 minute'`, [minutes]);
}

/** A pass with the default windows: 15 minutes for jobs that count, an hour for held ones. */
function pass(now: () => Date = () => new Date()) {
  return reconcileOnce(world.options({ staleAfterMs: 15 * MINUTE, heldAfterMs: 60 * MINUTE, now }).options);
}

const jobRow = async (platform: string, id: number) =>
  (await fixture.db.listJobs(platform, { withId: String(id) }))[0];

describe('reconciliation through the truth model', () => {
  it('releases a held GitLab job whose pending hook was lost, once the held window has passed', async () => {
    await gitlabJob(1, 'created');
    world.gitlab.setJob(PROJECT, { id: 1, tag_list: ['docker'], status: 'pending' });
    await ageEvents(30);
    // Stale for a job that counts, not yet for a held one: not looked up.
    expect((await pass()).stale.checked).toBe(0);
    expect(world.gitlab.requests).toEqual([]);

    await ageEvents(90);
    const report = await pass();
    expect(report.stale).toMatchObject({ checked: 1, corrected: { waiting: 1 } });
    expect(await jobRow('gitlab', 1)).toMatchObject({
      held: false,
      assignedFlavor: 'docker',
      raw: { created: expect.any(Object), reconciled_waiting: { at: expect.any(String) } },
    });
    expect(await fixture.db.getPressures('gitlab')).toEqual({ docker: 1 });
  });

  it('looks a job still held (manual) up again only once its age has doubled, not on every pass', async () => {
    await gitlabJob(2, 'created');
    world.gitlab.setJob(PROJECT, { id: 2, tag_list: ['docker'], status: 'manual' });
    await ageEvents(90);
    expect((await pass()).stale).toMatchObject({ checked: 1, corrected: { waiting: 0, held: 0 } });
    expect((await pass()).stale.checked).toBe(0);
    expect(world.gitlab.requests).toHaveLength(1);
    // Looked up at an age of 90 minutes: due again at 180, not before.
    expect((await pass(() => new Date(Date.now() + 80 * MINUTE))).stale.checked).toBe(0);
    expect((await pass(() => new Date(Date.now() + 95 * MINUTE))).stale.checked).toBe(1);
    expect((await jobRow('gitlab', 2))?.held).toBe(true);
    expect(await fixture.db.getPressures('gitlab')).toEqual({ docker: 0 });
  });

  it('stops counting a pending job GitLab skipped or reset to created without a hook, until it is pending again', async () => {
    await gitlabJob(3, 'created', 'pending');
    expect(await fixture.db.getPressures('gitlab')).toEqual({ docker: 1 });
    for (const status of ['skipped', 'created']) {
      world.gitlab.setJob(PROJECT, { id: 3, tag_list: ['docker'], status });
      await ageEvents(30);
      const report = await pass();
      expect(report.stale.corrected.held, status).toBe(1);
      expect(await fixture.db.getPressures('gitlab')).toEqual({ docker: 0 });
      await process('gitlab', gitlabHook(3, 'pending'));
      expect(await fixture.db.getPressures('gitlab')).toEqual({ docker: 1 });
    }
  });

  it('never takes a start back: a running job the API reports as created stays counted', async () => {
    await gitlabJob(4, 'pending', 'running');
    world.gitlab.setJob(PROJECT, { id: 4, tag_list: ['docker'], status: 'created' });
    await ageEvents(30);
    expect((await pass()).stale.corrected.held).toBe(0);
    expect(await fixture.db.getPressures('gitlab')).toEqual({ docker: 1 });
  });

  it('counts a GitHub job once deployment protection rules let it through, when the queued webhook was lost', async () => {
    const held = githubWorkflowJob('queued', { id: 5, labels: ['self-hosted', 'k8s'] });
    held.workflow_job.status = 'waiting';
    await process('github', held);
    await process('github', githubWorkflowJob('waiting', { id: 5, labels: ['self-hosted', 'k8s'] }));
    expect(await jobRow('github', 5)).toMatchObject({ held: true, assignedFlavor: null });
    expect(await fixture.db.getPressures('github')).toEqual({ k8s: 0 });

    world.github.setJob(REPO, { id: 5, status: 'queued' });
    await ageEvents(90);
    expect((await pass()).stale.corrected.waiting).toBe(1);
    expect(await fixture.db.getPressures('github')).toEqual({ k8s: 1 });
  });

  it('records no start for a GitHub job cancelled before a runner took it, whose completed webhook was lost', async () => {
    await process('github', githubWorkflowJob('queued', { id: 7, labels: ['self-hosted', 'k8s'] }));
    const queuedAt = '2026-11-28T10:00:00Z';
    world.github.setJob(REPO, {
      id: 7,
      status: 'completed',
      conclusion: 'cancelled',
      started_at: queuedAt,
      completed_at: '2026-11-28T10:03:00Z',
      runner_id: null,
      runner_name: null,
    });
    await ageEvents(30);
    expect((await pass()).stale.corrected.completed).toBe(1);
    expect(await jobRow('github', 7)).toMatchObject({
      startedAt: null,
      completedAt: new Date('2026-11-28T10:03:00Z'),
    });
  });

  it('ends a GitHub job rejected at approval without it ever counting', async () => {
    const held = githubWorkflowJob('waiting', { id: 6, labels: ['self-hosted', 'k8s'] });
    await process('github', held);
    world.github.setJob(REPO, { id: 6, status: 'completed', conclusion: 'failure', started_at: null });
    await ageEvents(90);
    expect((await pass()).stale.corrected.completed).toBe(1);
    expect(await jobRow('github', 6)).toMatchObject({ held: false, startedAt: null, assignedFlavor: null });
    expect(await fixture.db.getPressures('github')).toEqual({ k8s: 0 });
  });
});
