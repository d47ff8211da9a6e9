import type { Envelope } from '@runner-planner/queue';
import type { FakeGitHub, FakeGitLab } from '@runner-planner/testkit';
import { Registry } from 'prom-client';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createProcessor,
  createWorkerMetrics,
  GitLabTagResolver,
  reconcileOnce,
  startReconcileScheduler,
} from '../src/index.js';
import { MINUTE, useReconcileWorld } from './reconcile-world.js';
import { githubWorkflowJob, gitlabJobHook, webhookEnvelope } from './support.js';

const world = useReconcileWorld('reconcile');
const { fixture, queue } = world;
let github: FakeGitHub;
let gitlab: FakeGitLab;
beforeAll(() => {
  ({ github, gitlab } = world);
});
beforeEach(async () => {
  await queue.cleanup();
  github.requests.length = 0;
  gitlab.requests.length = 0;
});

const REPO = 'octo/repo';
const GITLAB_PROJECT = 380;

const setup = world.options;

/** The worker's processor on this file's database and fake GitLab, as the webhook path runs it. */
function webhookProcessor() {
  return createProcessor({
    db: fixture.db,
    metrics: createWorkerMetrics(new Registry()),
    gitlabTags: new GitLabTagResolver({ url: gitlab.url, token: gitlab.token }),
    githubSelfHostedOnly: true,
    githubImplicitLabels: [],
  });
}

async function counter(registry: Registry, name: string, labels: Record<string, string> = {}) {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  const values = (metric?.values ?? []) as { value: number; labels: Record<string, string | number> }[];
  return values
    .filter((v) => Object.entries(labels).every(([k, value]) => v.labels[k] === value))
    .reduce((sum, v) => sum + v.value, 0);
}

/** Every recorded job's last event happened `minutes` ago. */
async function ageEvents(minutes: number) {
  await fixture.sql.query(`UPDATE job SET updated_at = now() - $1 * interval '1 minute'`, [minutes]);
}

type Truth = 'queued' | 'running' | 'done' | 'deleted';

/** A seeded pseudo-random generator, so a failing scenario can be replayed. */
function random(seed: number) {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state / 2_147_483_648;
  };
}

describe('reconcileOnce: stale jobs', () => {
  it('converges to the true pressure in one pass after 20% of the events of 1,000 jobs were dropped', async () => {
    await fixture.db.addFlavor({
      platform: 'github',
      name: 'gh',
      labels: ['gpu'],
      priority: 0,
      isDisabled: false,
      minimumPressure: 0,
    });
    await fixture.db.addFlavor({
      platform: 'gitlab',
      name: 'gl',
      labels: ['docker'],
      priority: 0,
      isDisabled: false,
      minimumPressure: 0,
    });
    const next = random(42);
    const created = new Date(Date.now() - 30 * MINUTE);
    const startedAt = new Date(Date.now() - 25 * MINUTE).toISOString();
    const finishedAt = new Date(Date.now() - 20 * MINUTE).toISOString();
    const truths: Truth[] = ['queued', 'running', 'done', 'done', 'running'];
    const jobs = Array.from({ length: 1_000 }, (_, i) => {
      const platform: Envelope['platform'] = i % 10 < 7 ? 'github' : 'gitlab';
      // A few jobs were deleted on the forge (e.g. a removed project) after their first event.
      const truth: Truth = i % 97 === 0 ? 'deleted' : (truths[Math.floor(next() * truths.length)] as Truth);
      return { platform, id: 10_000 + i, truth };
    });

    // The forges' truth.
    for (const job of jobs) {
      if (job.platform === 'gitlab') {
        // Deleted ones are removed once their events are in (their tags were resolved first).
        gitlab.setJob(GITLAB_PROJECT, {
          id: job.id,
          tag_list: ['docker'],
          status: job.truth === 'queued' ? 'pending' : job.truth === 'done' ? 'success' : 'running',
          started_at: job.truth === 'queued' ? null : startedAt,
          finished_at: job.truth === 'done' ? finishedAt : null,
        });
      } else if (job.truth !== 'deleted') {
        github.setJob(REPO, {
          id: job.id,
          status: job.truth === 'queued' ? 'queued' : job.truth === 'done' ? 'completed' : 'in_progress',
          conclusion: job.truth === 'done' ? 'success' : null,
          started_at: job.truth === 'queued' ? null : startedAt,
          completed_at: job.truth === 'done' ? finishedAt : null,
        });
      }
    }

    // The events the forges sent: queued, then started, then completed as far as each job got.
    const events: { envelope: Envelope; first: boolean }[] = [];
    for (const job of jobs) {
      const reached = job.truth === 'queued' ? 1 : job.truth === 'done' ? 3 : 2;
      for (let step = 0; step < reached; step += 1) {
        const body =
          job.platform === 'github'
            ? githubWorkflowJob((['queued', 'in_progress', 'completed'] as const)[step] ?? 'queued', {
                id: job.id,
                labels: ['self-hosted', 'gpu'],
                createdAt: created.toISOString(),
                startedAt,
                completedAt: finishedAt,
              })
            : gitlabJobHook({
                build_id: job.id,
                project_id: GITLAB_PROJECT,
                build_status: ['pending', 'running', 'success'][step],
                build_created_at_iso: created.toISOString(),
                build_started_at_iso: step >= 1 ? startedAt : null,
                build_finished_at_iso: step >= 2 ? finishedAt : null,
              });
        events.push({ envelope: webhookEnvelope(job.platform, body), first: step === 0 });
      }
    }
    // 20% of all events never arrive; every job's first one does (a job never heard of at all
    // cannot be found by the stale check, only by redelivery).
    const droppable = events.filter((e) => !e.first);
    const dropCount = Math.round(events.length * 0.2);
    expect(droppable.length).toBeGreaterThan(dropCount);
    const dropped = new Set<Envelope>();
    while (dropped.size < dropCount) {
      dropped.add((droppable[Math.floor(next() * droppable.length)] as { envelope: Envelope }).envelope);
    }
    const process = webhookProcessor();
    const delivered = events.filter((e) => !dropped.has(e.envelope));
    for (let i = 0; i < delivered.length; i += 50) {
      await Promise.all(delivered.slice(i, i + 50).map((e) => process(e.envelope)));
    }
    for (const job of jobs) {
      if (job.platform === 'gitlab' && job.truth === 'deleted') gitlab.deleteJob(GITLAB_PROJECT, job.id);
    }
    await ageEvents(60);

    const truePressure = (platform: string) =>
      jobs.filter((j) => j.platform === platform && (j.truth === 'queued' || j.truth === 'running')).length;
    const before: Record<string, number> = {
      ...(await fixture.db.getPressures('github')),
      ...(await fixture.db.getPressures('gitlab')),
    };
    expect(before.gh).toBeGreaterThan(truePressure('github'));
    expect(before.gl).toBeGreaterThan(truePressure('gitlab'));

    const { options, registry } = setup();
    const report = await reconcileOnce(options);

    expect(report.ran).toBe(true);
    expect(report.stale.errors).toBe(0);
    expect(await fixture.db.getPressures('github')).toEqual({ gh: truePressure('github') });
    expect(await fixture.db.getPressures('gitlab')).toEqual({ gl: truePressure('gitlab') });

    // Every job now holds its forge state, not just the right count.
    const stored = new Map(
      [
        ...(await fixture.db.listJobs('github', { limit: 2_000 })),
        ...(await fixture.db.listJobs('gitlab', { limit: 2_000 })),
      ].map((j) => [`${j.platform}/${j.id}`, j]),
    );
    for (const job of jobs) {
      const row = stored.get(`${job.platform}/${job.id}`);
      expect(row, `${job.platform}/${job.id}`).toBeDefined();
      if (row === undefined) continue;
      expect(row.completedAt !== null, `${job.platform}/${job.id} completed`).toBe(
        job.truth === 'done' || job.truth === 'deleted',
      );
      if (job.truth === 'running') expect(row.startedAt?.toISOString()).toBe(startedAt);
      if (job.truth === 'done') expect(row.completedAt?.toISOString()).toBe(finishedAt);
    }
    const deletedGitHub = jobs.find((j) => j.truth === 'deleted' && j.platform === 'github');
    const deletedRow = stored.get(`github/${deletedGitHub?.id}`);
    expect(deletedRow?.raw.reconciled).toEqual({ reason: 'not found on GitHub', at: expect.any(String) });

    const corrected = report.stale.corrected;
    expect(await counter(registry, 'runner_planner_reconcile_corrected_total')).toBe(
      corrected.started + corrected.completed + corrected.missing,
    );
    // Every deleted job was open in the database (its first events arrived), and hundreds of
    // dropped in_progress/completed events were made up for.
    expect(corrected.missing).toBe(jobs.filter((j) => j.truth === 'deleted').length);
    expect(corrected.started + corrected.completed).toBeGreaterThan(200);
    expect(await counter(registry, 'runner_planner_reconcile_checked_total')).toBe(report.stale.checked);
    expect(await counter(registry, 'runner_planner_reconcile_errors_total')).toBe(0);

    // A second pass finds nothing left to correct: the corrected jobs had an event just now.
    const again = await reconcileOnce(options);
    expect(again.stale.corrected).toEqual({ held: 0, waiting: 0, started: 0, completed: 0, missing: 0 });
  }, 120_000);

  it('completes a job missing on GitLab with the reason in raw, and leaves fresh jobs alone', async () => {
    const now = new Date();
    const hook = (id: number) =>
      gitlabJobHook({
        build_id: id,
        project_id: 77,
        build_status: 'pending',
        build_created_at_iso: now.toISOString(),
      });
    gitlab.setJob(77, { id: 1, tag_list: [] });
    const process = webhookProcessor();
    gitlab.setJob(77, { id: 2, tag_list: [] });
    gitlab.setJob(77, { id: 404_404, tag_list: [] });
    await process(webhookEnvelope('gitlab', hook(1)));
    await process(webhookEnvelope('gitlab', hook(404_404)));
    gitlab.deleteJob(77, 404_404);
    await ageEvents(60);
    await process(webhookEnvelope('gitlab', hook(2)));
    gitlab.requests.length = 0;

    const { options, registry } = setup();
    const report = await reconcileOnce(options);
    expect(report.stale).toMatchObject({ checked: 2, corrected: { started: 0, completed: 0, missing: 1 } });
    const [missing] = await fixture.db.listJobs('gitlab', { withId: '404404' });
    expect(missing?.completedAt).toBeInstanceOf(Date);
    expect(missing?.raw.reconciled).toEqual({ reason: 'not found on GitLab', at: expect.any(String) });
    expect(gitlab.requests.sort()).toEqual(['/api/v4/projects/77/jobs/1', '/api/v4/projects/77/jobs/404404']);
    expect(await counter(registry, 'runner_planner_reconcile_corrected_total', { change: 'missing' })).toBe(
      1,
    );
  });
});

describe('reconcileOnce: rate limits', () => {
  async function staleGitHubJobs(count: number) {
    for (let id = 1; id <= count; id += 1) {
      await fixture.db.addJob({
        platform: 'github',
        id: String(id),
        labels: [],
        createdAt: new Date(),
        startedAt: null,
        completedAt: null,
        raw: githubWorkflowJob('queued', { id }) as unknown as Record<string, unknown>,
      });
      github.setJob('octo/repo', { id, status: 'completed', completed_at: new Date().toISOString() });
    }
    // The helper's payload is the raw of the `queued` action.
    await fixture.sql.query(`UPDATE job SET raw = jsonb_build_object('queued', raw)`);
    await ageEvents(60);
  }

  it.each([
    ['a primary rate limit (403, x-ratelimit-remaining 0, reset)', 'primary', 403],
    ['a secondary rate limit (429, retry-after)', 'secondary', 429],
  ] as const)(
    'waits out %s and still completes the pass',
    async (_name, kind, status) => {
      await staleGitHubJobs(20);
      const limitedAt = Date.now();
      github.rateLimitFor(kind, 1);
      const { options, waits } = setup();
      const report = await reconcileOnce(options);

      expect(report.stale).toMatchObject({ checked: 20, errors: 0, corrected: { completed: 20 } });
      const limited = github.requests.filter((r) => r.status === status);
      // Only the requests already in flight when the limit hit were answered with it (octokit
      // sends at most 10 at once); each was waited out, then retried.
      expect(limited.length).toBeGreaterThanOrEqual(1);
      expect(limited.length).toBeLessThanOrEqual(10);
      expect(waits).toHaveLength(limited.length);
      for (const wait of waits) {
        expect(wait.kind).toBe(kind);
        expect(wait.seconds).toBeGreaterThanOrEqual(1);
      }
      // Nothing else was sent until the limit was over, and every job was then looked up once.
      const answered = github.requests.filter((r) => r.status === 200);
      expect(answered).toHaveLength(20);
      expect(Math.min(...answered.map((r) => r.at))).toBeGreaterThanOrEqual(limitedAt + 1_000);
      expect(Math.max(...limited.map((r) => r.at))).toBeLessThan(limitedAt + 1_000);
      expect(github.requests).toHaveLength(20 + limited.length);
    },
    30_000,
  );

  it('lets @gitbeaker retry GitLab 429s with backoff', async () => {
    gitlab.setJob(5, { id: 9, tag_list: [], status: 'running', started_at: new Date().toISOString() });
    await fixture.db.addJob({
      platform: 'gitlab',
      id: '9',
      labels: [],
      createdAt: new Date(),
      startedAt: null,
      completedAt: null,
      raw: { pending: { project_id: 5 } },
    });
    await ageEvents(60);
    gitlab.failNext(2, 429);
    const { options } = setup();
    const report = await reconcileOnce(options);
    expect(report.stale).toMatchObject({ checked: 1, errors: 0, corrected: { started: 1 } });
    expect(gitlab.requests).toHaveLength(3);
  });
});

describe('reconcileOnce: GitHub redelivery', () => {
  it('redelivers each failed workflow_job delivery exactly once across passes', async () => {
    const repoHook = { kind: 'repo', owner: 'octo', repo: 'repo', hookId: 7 } as const;
    const orgHook = { kind: 'org', org: 'octo-org', hookId: 8 } as const;
    const ago = (minutes: number) => new Date(Date.now() - minutes * MINUTE).toISOString();
    const failed = github.addDelivery('repos/octo/repo', 7, {
      delivered_at: ago(12),
      status: 'Invalid HTTP Response: 503',
      status_code: 503,
    });
    // Two pages of successful deliveries newer than the failed one.
    for (let i = 0; i < 150; i += 1) github.addDelivery('repos/octo/repo', 7, { delivered_at: ago(5) });
    const timedOut = github.addDelivery('orgs/octo-org', 8, {
      delivered_at: ago(1),
      status: 'timed out',
      status_code: 0,
    });
    // Not to redeliver: another event, too old, or already redelivered successfully.
    github.addDelivery('repos/octo/repo', 7, {
      event: 'push',
      status: 'Invalid HTTP Response: 500',
      status_code: 500,
    });
    github.addDelivery('repos/octo/repo', 7, { delivered_at: ago(60), status_code: 500, status: 'failed' });
    const settled = github.addDelivery('repos/octo/repo', 7, {
      delivered_at: ago(3),
      status_code: 502,
      status: 'bad',
    });
    github.addDelivery('repos/octo/repo', 7, { guid: settled.guid, redelivery: true, delivered_at: ago(2) });
    // GitHub lists redeliveries late: only the remembered ids stop a second redelivery.
    github.listRedeliveries(false);

    const { options, registry } = setup({ githubHooks: [repoHook, orgHook] });
    const first = await reconcileOnce(options);
    expect(first.redelivery).toEqual({ failed: 2, redelivered: 2, errors: 0 });
    expect(github.redeliveries.sort()).toEqual([failed.id, timedOut.id].sort());
    const listCalls = github.requests.filter((r) => r.path.endsWith('/deliveries')).length;
    expect(listCalls).toBe(3);

    const second = await reconcileOnce(options);
    expect(second.redelivery.redelivered).toBe(0);
    github.listRedeliveries(true);
    const third = await reconcileOnce(options);
    expect(third.redelivery).toEqual({ failed: 0, redelivered: 0, errors: 0 });
    expect(github.redeliveries).toHaveLength(2);
    expect(await counter(registry, 'runner_planner_reconcile_redelivered_total')).toBe(2);
  }, 30_000);
});

describe('one pass at a time', () => {
  it('skips a pass while another holds the lock', async () => {
    const { options } = setup();
    const [a, b] = await Promise.all([reconcileOnce(options), reconcileOnce(options)]);
    expect([a.ran, b.ran].sort()).toEqual([false, true]);
    expect((await reconcileOnce(options)).ran).toBe(true);
  });

  it('schedules passes on the reconcile queue with one scheduler however many workers declare it', async () => {
    const { options } = setup();
    let runs = 0;
    const connectionName = `${queue.prefix.slice(1, -1)}-scheduler`;
    const start = () =>
      startReconcileScheduler({
        redisUrl: queue.redisUrl,
        prefix: queue.prefix,
        intervalMs: 200,
        run: async () => {
          runs += 1;
          return reconcileOnce(options);
        },
        connectionName,
      });
    const [one, two] = await Promise.all([start(), start()]);
    try {
      expect(await one.queue.getJobSchedulersCount()).toBe(1);
      const deadline = Date.now() + 5_000;
      while (runs < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(runs).toBeGreaterThanOrEqual(3);
      // Each scheduler's queue and worker hold a command connection under this name.
      expect(await queue.connectionsNamed(connectionName)).toBe(4);
    } finally {
      await one.close();
      await two.close();
    }
    expect(await queue.connectionsNamed(connectionName)).toBe(0);
  });
});
