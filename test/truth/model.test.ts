import { type Flavor, phaseOfStatus } from '@runner-planner/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { scenarioArbitrary } from './arbitraries.js';
import {
  expectedPressures,
  type ForgeEvent,
  Forges,
  GITHUB_PHASE,
  GITLAB_PHASE,
  GITLAB_STATUSES,
  type GitLabJobSpec,
  type JobTruth,
  type Step,
  simulate,
  type Webhook,
} from './model.js';

const flavor = (
  platform: 'github' | 'gitlab',
  name: string,
  labels: string[],
  priority: number,
  extra = {},
) => ({ platform, name, labels, priority, isDisabled: false, minimumPressure: 0, ...extra }) as Flavor;

const FLAVORS: Flavor[] = [
  flavor('gitlab', 'gl-docker', ['docker'], 2),
  flavor('gitlab', 'gl-any', [], 1),
  flavor('github', 'gh-large', ['large'], 1),
];

function forges(flavors: Flavor[] = FLAVORS): Forges {
  const made = new Forges(flavors, {
    ids: { gitlabJob: 100, gitlabPipeline: 10, githubJob: 500, githubRun: 50 },
    t0: Date.parse('2026-12-01T10:00:00Z'),
    projectId: 7,
    skipPending: true,
  });
  made.beginStep(0);
  return made;
}

/** Performs the one possible event whose description matches. */
function act(world: Forges, pattern: RegExp): void {
  const matching = world.possible().filter((event: ForgeEvent) => pattern.test(event.describe));
  if (matching.length !== 1) {
    const all = world
      .possible()
      .map((event) => event.describe)
      .join('\n');
    throw new Error(`${matching.length} events match ${pattern}; possible:\n${all}`);
  }
  world.perform(matching[0] as ForgeEvent);
}

function job(spec: Partial<GitLabJobSpec> = {}): GitLabJobSpec {
  return {
    stage: 0,
    when: 'on_success',
    resourceGroup: null,
    prepare: false,
    tags: ['docker'],
    needs: null,
    createdHookDelay: 0,
    ...spec,
  };
}

/** `id status` of each GitLab hook, `id action[/status]` of each GitHub one. */
function hooks(step: Step): string[] {
  return step.webhooks.map((webhook: Webhook) =>
    webhook.platform === 'gitlab'
      ? `${webhook.job.id} ${webhook.job.status}`
      : `${webhook.job.id} ${webhook.action}${webhook.action === 'queued' ? `/${webhook.job.status}` : ''}`,
  );
}

function statuses(step: Step): Record<string, string> {
  return Object.fromEntries(step.truth.map((truth: JobTruth) => [truth.id, truth.status]));
}

describe('the truth tables', () => {
  it('agree with the system’s (core) for every status', () => {
    for (const status of GITLAB_STATUSES) expect(phaseOfStatus('gitlab', status)).toBe(GITLAB_PHASE[status]);
    for (const [status, phase] of Object.entries(GITHUB_PHASE))
      expect(phaseOfStatus('github', status)).toBe(phase);
  });
});

describe('GitLab pipelines', () => {
  it('sends created for every job, pending when a stage comes; none for manual, skipped or reset jobs', () => {
    const world = forges();
    world.createPipeline({
      start: 0,
      jobs: [job(), job({ stage: 1, when: 'manual' }), job({ stage: 2 })],
    });
    let step = world.endStep(false);
    expect(hooks(step)).toEqual(['100 created', '101 created', '102 created', '100 pending']);
    // The manual job does not hold back the last stage (it is allowed to fail).
    expect(statuses(step)).toEqual({ 100: 'pending', 101: 'created', 102: 'created' });

    world.beginStep(1);
    act(world, /job 100 .*a runner takes it/);
    act(world, /job 100 .*fails/);
    step = world.endStep(false);
    expect(hooks(step)).toEqual(['100 running', '100 failed']);
    expect(statuses(step)).toEqual({ 100: 'failed', 101: 'skipped', 102: 'skipped' });

    world.beginStep(2);
    act(world, /job 100 .*retried/);
    step = world.endStep(false);
    // The retry is a new job; the skipped jobs after it go back to created without a hook.
    expect(hooks(step)).toEqual(['103 created', '103 pending']);
    expect(statuses(step)).toEqual({ 100: 'failed', 101: 'created', 102: 'created', 103: 'pending' });

    world.beginStep(3);
    act(world, /job 103 .*a runner takes it/);
    act(world, /job 103 .*succeeds/);
    step = world.endStep(false);
    expect(hooks(step)).toEqual(['103 running', '103 success', '102 pending']);
    expect(statuses(step)).toMatchObject({ 101: 'manual', 102: 'pending' });

    world.beginStep(4);
    act(world, /job 101 .*played/);
    step = world.endStep(false);
    expect(hooks(step)).toEqual(['101 pending']);
  });

  it('a late created hook goes out after the job’s later statuses', () => {
    const world = forges();
    world.createPipeline({ start: 0, jobs: [job({ createdHookDelay: 1 })] });
    act(world, /a runner takes it/);
    expect(hooks(world.endStep(false))).toEqual(['100 pending', '100 running']);
    world.beginStep(1);
    const step = world.endStep(false);
    expect(hooks(step)).toEqual(['100 created']);
    expect(step.webhooks[0]).toMatchObject({ job: { status: 'created', startedAt: null } });
  });

  it('delayed, resource-group and prepared jobs reach pending with one hook, at their turn', () => {
    const world = forges();
    world.createPipeline({
      start: 0,
      jobs: [
        job({ when: 'delayed' }),
        job({ resourceGroup: 'production' }),
        job({ resourceGroup: 'production', prepare: true }),
      ],
    });
    let step = world.endStep(false);
    expect(hooks(step)).toEqual(['100 created', '101 created', '102 created', '101 pending']);
    expect(statuses(step)).toEqual({ 100: 'scheduled', 101: 'pending', 102: 'waiting_for_resource' });

    world.beginStep(1);
    act(world, /job 100 .*delay is over/);
    act(world, /job 101 .*a runner takes it/);
    act(world, /job 101 .*succeeds/);
    step = world.endStep(false);
    expect(hooks(step)).toEqual(['100 pending', '101 running', '101 success']);
    expect(statuses(step)).toMatchObject({ 102: 'preparing' });

    world.beginStep(2);
    act(world, /job 102 .*prepared/);
    expect(hooks(world.endStep(false))).toEqual(['102 pending']);
  });

  it('a cancelled pipeline: canceled hooks for what had not run, canceling (no hook) for what runs', () => {
    const world = forges();
    world.createPipeline({ start: 0, jobs: [job(), job({ tags: [] }), job({ stage: 1, when: 'manual' })] });
    act(world, /job 100 .*a runner takes it/);
    world.endStep(false);
    world.beginStep(1);
    act(world, /pipeline 10: canceled/);
    let step = world.endStep(false);
    expect(hooks(step)).toEqual(['101 canceled', '102 canceled']);
    expect(statuses(step)).toEqual({ 100: 'canceling', 101: 'canceled', 102: 'canceled' });
    world.beginStep(2);
    act(world, /job 100 .*cancellation done/);
    step = world.endStep(false);
    expect(hooks(step)).toEqual(['100 canceled']);
  });

  it('needs: a job needing a stage-0 job starts when that job succeeds, whatever the other stages do', () => {
    const world = forges();
    world.createPipeline({ start: 0, jobs: [job(), job(), job({ stage: 2, needs: [0] })] });
    act(world, /job 100 .*a runner takes it/);
    act(world, /job 100 .*succeeds/);
    const step = world.endStep(false);
    expect(statuses(step)).toEqual({ 100: 'success', 101: 'pending', 102: 'pending' });
  });

  it('a pending job skipped when an earlier stage failed: no hook, held again', () => {
    const world = forges();
    world.createPipeline({ start: 0, jobs: [job(), job({ stage: 1, needs: [] })] });
    act(world, /job 100 .*a runner takes it/);
    act(world, /job 100 .*fails/);
    act(world, /job 101 .*skipped/);
    const step = world.endStep(false);
    expect(hooks(step)).toEqual([
      '100 created',
      '101 created',
      '100 pending',
      '101 pending',
      '100 running',
      '100 failed',
    ]);
    expect(step.truth.find((truth) => truth.id === '101')).toMatchObject({
      status: 'skipped',
      phase: 'held',
    });
  });
});

describe('GitHub workflows', () => {
  const gated = { labels: ['Large'], selfHosted: true, linux: true, gated: true };

  it('a gated job: queued (status waiting) and waiting, then queued after approval', () => {
    const world = forges();
    world.createWorkflow({ start: 0, jobs: [gated] });
    expect(hooks(world.endStep(false))).toEqual(['500 queued/waiting', '500 waiting']);
    world.beginStep(1);
    act(world, /deployment approved/);
    act(world, /a runner takes it/);
    act(world, /fails/);
    expect(hooks(world.endStep(false))).toEqual(['500 queued/queued', '500 in_progress', '500 completed']);
    world.beginStep(2);
    act(world, /re-run/);
    const step = world.endStep(false);
    expect(hooks(step)).toEqual(['501 queued/waiting', '501 waiting']);
    expect(step.githubJobs[1]).toMatchObject({ id: 501, runId: 50, attempt: 2 });
  });

  it('rejected or cancelled before a runner took it: completed without a runner', () => {
    const world = forges();
    world.createWorkflow({ start: 0, jobs: [gated, { ...gated, gated: false }] });
    act(world, /job 500 .*deployment rejected/);
    act(world, /job 501 .*cancelled before start/);
    const step = world.endStep(false);
    expect(step.githubJobs.map((j) => [j.status, j.conclusion, j.runner])).toEqual([
      ['completed', 'failure', null],
      ['completed', 'cancelled', null],
    ]);
  });
});

describe('expected pressure', () => {
  const truth = (platform: 'github' | 'gitlab', id: string, phase: JobTruth['phase'], labels: string[]) =>
    ({ platform, id, status: '', phase, labels }) as JobTruth;

  it('counts waiting and running jobs on their best flavor only, untagged ones on a flavor that takes them', () => {
    const flavors = [
      flavor('gitlab', 'tagged', ['docker'], 3),
      flavor('gitlab', 'tagged-untagged', ['gpu'], 2, { runUntagged: true }),
      flavor('gitlab', 'any', [], 1),
      flavor('github', 'gh', ['large'], 1),
    ];
    const pressures = expectedPressures(
      [
        truth('gitlab', '1', 'waiting', []),
        truth('gitlab', '2', 'running', ['DOCKER']),
        truth('gitlab', '3', 'held', ['docker']),
        truth('gitlab', '4', 'ended', ['docker']),
        truth('gitlab', '5', 'waiting', ['docker']),
        truth('github', '6', 'waiting', ['large']),
        truth('github', '7', 'ignored', ['large']),
        truth('github', '8', 'running', ['huge']),
      ],
      flavors,
      new Set(['gitlab/5']),
    );
    expect(pressures).toEqual({ gitlab: { tagged: 1, 'tagged-untagged': 1, any: 0 }, github: { gh: 1 } });
  });
});

describe('generated scenarios (model only)', () => {
  it('GitLab sends only created, pending, running and final statuses; every demand job had its pending hook', () => {
    fc.assert(
      fc.property(scenarioArbitrary, (scenario) => {
        const ids = { gitlabJob: 1, gitlabPipeline: 1, githubJob: 1, githubRun: 1 };
        const timeline = simulate(scenario, { ids, t0: 0, projectId: 1, skipPending: true });
        const pendingHooks = new Set<number>();
        for (const step of timeline.steps) {
          for (const webhook of step.webhooks) {
            if (webhook.platform !== 'gitlab') continue;
            expect(['created', 'pending', 'running', 'success', 'failed', 'canceled']).toContain(
              webhook.job.status,
            );
            if (webhook.job.status === 'pending') pendingHooks.add(webhook.job.id);
          }
          for (const job of step.gitlabJobs) {
            if (GITLAB_PHASE[job.status] === 'waiting' || GITLAB_PHASE[job.status] === 'running') {
              expect(pendingHooks.has(job.id)).toBe(true);
            }
          }
        }
        // Every created job sent its created hook by the end.
        const last = timeline.steps.at(-1) as Step;
        const created = timeline.steps.flatMap((step) =>
          step.webhooks
            .filter((w) => w.platform === 'gitlab' && w.job.status === 'created')
            .map((w) => w.job.id),
        );
        expect(new Set(created)).toEqual(new Set(last.gitlabJobs.map((j) => j.id)));
      }),
      { numRuns: 300 },
    );
  });
});
