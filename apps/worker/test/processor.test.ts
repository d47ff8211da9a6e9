import { createRequire } from 'node:module';
import { DeadLetterError, type Envelope } from '@runner-planner/queue';
import { type FakeGitLab, startFakeGitLab } from '@runner-planner/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createProcessor,
  createWorkerMetrics,
  GitLabNotConfiguredError,
  GitLabTagResolver,
  TagLookupError,
} from '../src/index.js';
import {
  githubWorkflowJob,
  gitlabJobHook,
  minutesAfterT0,
  storedJob,
  useDatabase,
  webhookEnvelope,
} from './support.js';

const fixture = useDatabase('worker_processor');
let gitlab: FakeGitLab;
beforeAll(async () => {
  gitlab = await startFakeGitLab();
});
afterAll(async () => gitlab.close());

const receivedAt = minutesAfterT0(50);
function envelope(
  platform: Envelope['platform'],
  body: unknown,
  overrides: Partial<Envelope> = {},
): Envelope {
  return webhookEnvelope(platform, body, { receivedAt, ...overrides });
}

function processor(options: { selfHostedOnly?: boolean; gitlab?: boolean } = {}) {
  const metrics = createWorkerMetrics();
  const process = createProcessor({
    db: fixture.db,
    metrics,
    gitlabTags:
      options.gitlab === false ? undefined : new GitLabTagResolver({ url: gitlab.url, token: gitlab.token }),
    githubSelfHostedOnly: options.selfHostedOnly ?? true,
    githubImplicitLabels: ['x64'],
  });
  return { process, metrics };
}

describe('GitHub events', () => {
  it('records every @octokit/webhooks-examples workflow_job example or ignores it for the right reason', async () => {
    const examples =
      (
        createRequire(import.meta.url)('@octokit/webhooks-examples') as {
          name: string;
          examples: { action: string; workflow_job: { id: number; labels: string[] } }[];
        }[]
      ).find((entry) => entry.name === 'workflow_job')?.examples ?? [];
    expect(examples).toHaveLength(8);
    const { process } = processor({ selfHostedOnly: false });
    const outcomes = [];
    for (const example of examples) outcomes.push(await process(envelope('github', example)));
    // The two examples of job 12877621891 wait for deployment protection rules: held.
    expect(outcomes.map((o) => (o.outcome === 'recorded' ? o.action : o.outcome))).toEqual([
      'started',
      'completed',
      'completed',
      'started',
      'started',
      'queued',
      'held',
      'held',
    ]);
    for (const example of examples) {
      const row = await storedJob(fixture.db, 'github', String(example.workflow_job.id));
      expect(row, `job ${example.workflow_job.id}`).toBeDefined();
      expect(row?.raw).toHaveProperty(example.action);
    }
    const held = await storedJob(fixture.db, 'github', '12877621891');
    expect(held).toMatchObject({ held: true, assigned: false, raw: { queued: {}, waiting: {} } });
    const selfHosted = processor({ selfHostedOnly: true });
    const ignored = await selfHosted.process(envelope('github', examples[1]));
    expect(ignored).toEqual({
      outcome: 'ignored',
      reason: expect.stringContaining('is not for a self-hosted runner'),
    });
  });

  it('strips implicit labels, including configured ones', async () => {
    const { process } = processor();
    await process(
      envelope(
        'github',
        githubWorkflowJob('queued', { id: 5, labels: ['Self-Hosted', 'Linux', 'X64', 'GPU'] }),
      ),
    );
    expect((await storedJob(fixture.db, 'github', '5'))?.labels).toEqual(['gpu']);
  });

  it('dead-letters what can never be processed, with the reason, and writes nothing', async () => {
    const { process, metrics } = processor();
    await expect(process(envelope('github', '{"action": "queued", '))).rejects.toThrow(DeadLetterError);
    await expect(process(envelope('github', '{"action": "queued", '))).rejects.toThrow(
      /body is not valid JSON/,
    );
    await expect(
      process(envelope('github', { action: 'queued', workflow_job: { labels: [] } })),
    ).rejects.toThrow(/workflow_job.id is missing/);
    const { rows } = await fixture.sql.query('SELECT count(*)::int AS n FROM job');
    expect(rows[0].n).toBe(0);
    expect(
      await metrics.registry.getSingleMetricAsString('runner_planner_worker_events_processed_total'),
    ).toContain('runner_planner_worker_events_processed_total{platform="github",outcome="dead_lettered"} 3');
  });

  it('ignores events other than workflow_job', async () => {
    const { process } = processor();
    expect(await process(envelope('github', { zen: 'hi' }, { event: 'ping' }))).toEqual({
      outcome: 'ignored',
      reason: 'event ping is not handled',
    });
  });
});

describe('GitLab events', () => {
  it('records the documented Job Hook with the tags the GitLab API reports', async () => {
    gitlab.setJob(380, { id: 1977, tag_list: ['Docker', 'linux'] });
    const { process } = processor();
    // The documented hook is a `created` job: held until GitLab offers it to runners.
    expect(await process(envelope('gitlab', gitlabJobHook()))).toEqual({
      outcome: 'recorded',
      action: 'held',
    });
    const row = await storedJob(fixture.db, 'gitlab', '1977');
    expect(row?.held).toBe(true);
    expect(row?.labels).toEqual(['docker', 'linux']);
    expect(row?.createdAt).toEqual(new Date('2021-02-23T02:41:37Z'));
    expect(row?.raw).toHaveProperty('created');
  });

  it('counts only the jobs of a pipeline that wait for or run on a runner of the flavor', async () => {
    // A new user's first pipeline against a flavor labelled docker: a build job, a later-stage
    // test job, a manual deploy job and an untagged lint job. GitLab sends `created` for every
    // job when the pipeline is created, then `pending` for the first stage (docs/pressure.md).
    await fixture.db.addFlavor({
      platform: 'gitlab',
      name: 'docker',
      labels: ['docker'],
      priority: 0,
      isDisabled: false,
      minimumPressure: 0,
    });
    const jobs = { build: 7001, test: 7002, deploy: 7003, lint: 7004 };
    for (const [name, id] of Object.entries(jobs)) {
      gitlab.setJob(380, { id, tag_list: name === 'lint' ? [] : ['docker'] });
    }
    const { process } = processor();
    const hook = (id: number, status: string) =>
      process(
        envelope(
          'gitlab',
          gitlabJobHook({
            build_id: id,
            build_status: status,
            build_created_at_iso: new Date().toISOString(),
          }),
        ),
      );
    const pressure = async () => (await fixture.db.getPressures('gitlab')).docker;

    for (const id of Object.values(jobs)) await hook(id, 'created');
    expect(await pressure()).toBe(0);
    await hook(jobs.build, 'pending');
    await hook(jobs.lint, 'pending');
    // The untagged lint job would wait for a runner that takes untagged jobs, not for docker.
    expect(await pressure()).toBe(1);
    await hook(jobs.build, 'running');
    await hook(jobs.lint, 'running');
    expect(await pressure()).toBe(1);
    await hook(jobs.build, 'success');
    await hook(jobs.test, 'pending');
    expect(await pressure()).toBe(1);
    await hook(jobs.test, 'success');
    // The manual deploy job stays held until someone plays it: no machine for it meanwhile.
    expect(await pressure()).toBe(0);
    await hook(jobs.deploy, 'pending');
    expect(await pressure()).toBe(1);
    await hook(jobs.deploy, 'canceled');
    expect(await pressure()).toBe(0);
    expect((await storedJob(fixture.db, 'gitlab', String(jobs.lint)))?.assigned).toBe(false);
  });

  it('asks the API once per job and caches the answer', async () => {
    gitlab.setJob(380, { id: 4242, tag_list: ['arm64'] });
    const { process } = processor();
    const before = gitlab.requests.length;
    await process(envelope('gitlab', gitlabJobHook({ build_id: 4242, build_status: 'pending' })));
    await process(envelope('gitlab', gitlabJobHook({ build_id: 4242, build_status: 'created' })));
    expect(gitlab.requests.length - before).toBe(1);
  });

  it('retries (never dead-letters, never guesses labels) while the GitLab API fails', async () => {
    gitlab.setJob(380, { id: 5151, tag_list: ['gpu'] });
    const { process, metrics } = processor();
    // @gitbeaker already retries a lone 5xx itself; an API that keeps failing must surface.
    gitlab.failAll(502);
    const failing = process(envelope('gitlab', gitlabJobHook({ build_id: 5151 })));
    await expect(failing).rejects.toBeInstanceOf(TagLookupError);
    await expect(failing).rejects.not.toBeInstanceOf(DeadLetterError);
    gitlab.failAll(null);
    expect(await storedJob(fixture.db, 'gitlab', '5151')).toBeUndefined();
    expect(
      await metrics.registry.getSingleMetricAsString('runner_planner_worker_events_processed_total'),
    ).toContain('outcome="retried"} 1');
    await process(envelope('gitlab', gitlabJobHook({ build_id: 5151 })));
    expect((await storedJob(fixture.db, 'gitlab', '5151'))?.labels).toEqual(['gpu']);
  });

  it('completes a stored job without asking for its tags again', async () => {
    gitlab.setJob(380, { id: 6161, tag_list: ['gpu'] });
    const { process } = processor();
    await process(envelope('gitlab', gitlabJobHook({ build_id: 6161 })));
    gitlab.failAll(500);
    try {
      await process(
        envelope(
          'gitlab',
          gitlabJobHook({
            build_id: 6161,
            build_status: 'success',
            build_finished_at_iso: '2021-02-23T03:00:00Z',
          }),
        ),
      );
    } finally {
      gitlab.failAll(null);
    }
    expect((await storedJob(fixture.db, 'gitlab', '6161'))?.completedAt).toEqual(
      new Date('2021-02-23T03:00:00Z'),
    );
  });

  it('waits for configuration rather than storing a GitLab job without its tags', async () => {
    const { process } = processor({ gitlab: false });
    await expect(process(envelope('gitlab', gitlabJobHook({ build_id: 7171 })))).rejects.toBeInstanceOf(
      GitLabNotConfiguredError,
    );
    expect(await storedJob(fixture.db, 'gitlab', '7171')).toBeUndefined();
  });
});
