/**
 * Every documented example of both forges, sent through the running gateway → queue → worker,
 * ends as the row the truth model says: held or not, its start and completion, and whether it
 * counts against a flavor.
 */
import { Database, type Job } from '@runner-planner/database';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppProcess } from '../support/apps.js';
import { gitlabJobHook, useSystem } from '../support/system.js';
import { sendGitHub, sendGitLab, workflowJobExamples } from '../support/webhooks.js';
import { drained } from './harness.js';
import { GITLAB_PHASE, GITLAB_STATUSES } from './model.js';

const system = useSystem('e2e_truth_examples');
let gateway: AppProcess;
/** Counts every job whatever its age: the examples are years old, past the 5-day window. */
let ageless: Database;

beforeAll(async () => {
  gateway = await system.start('gateway');
  ageless = await Database.connect(system.databaseUrl, { staleAfterMs: 100 * 365 * 86_400_000 });
  await system.db.addFlavor({
    platform: 'github',
    name: 'examples',
    // Every label the examples ask for, GitHub's implicit ones aside.
    labels: ['gpu', 'db-app', 'dc-03', 'ubuntu-latest', 'k8s'],
    priority: 1,
    isDisabled: false,
    minimumPressure: 0,
  });
  await system.db.addFlavor({
    platform: 'gitlab',
    name: 'docker',
    labels: ['docker'],
    priority: 1,
    isDisabled: false,
    minimumPressure: 0,
  });
});

afterAll(async () => {
  await ageless?.close();
});

async function row(platform: string, id: string): Promise<Job | undefined> {
  const [found] = await system.db.listJobs(platform, { withId: id });
  return found;
}

async function pressure(platform: string, flavor: string): Promise<number> {
  return (await ageless.getPressures(platform, flavor))[flavor] ?? 0;
}

interface Example {
  action: string;
  workflow_job: {
    id: number;
    status: string;
    labels: string[];
    created_at?: string;
    started_at: string | null;
    completed_at: string | null;
    runner_id: number | null;
  };
}

const examples = workflowJobExamples() as unknown as Example[];

/** The row the truth model wants for a `workflow_job` example received alone. */
function expectedGitHubRow(example: Example) {
  const job = example.workflow_job;
  const held = example.action === 'waiting' || (example.action === 'queued' && job.status === 'waiting');
  const started =
    example.action === 'in_progress' || (example.action === 'completed' && job.runner_id !== null);
  return {
    held,
    labels: job.labels
      .map((label) => label.toLowerCase())
      .filter((l) => l !== 'self-hosted' && l !== 'linux')
      .sort(),
    createdAt: new Date(job.created_at ?? (job.started_at as string)),
    startedAt: started ? new Date(job.started_at as string) : null,
    completedAt: example.action === 'completed' ? new Date(job.completed_at as string) : null,
    counted: !held && example.action !== 'completed',
  };
}

/** Each example alone, as a job of its own (a fresh id), then the examples of one job together. */
async function sendEachGitHubExample(firstId: number, selfHostedOnly: boolean) {
  let id = firstId;
  for (const example of examples) {
    id += 1;
    const payload = { ...example, workflow_job: { ...example.workflow_job, id } };
    const before = await pressure('github', 'examples');
    expect((await sendGitHub(gateway.url, payload)).status).toBe(202);
    await drained(system.queue);
    const stored = await row('github', String(id));
    const selfHosted = example.workflow_job.labels.some((label) => label.toLowerCase() === 'self-hosted');
    const description = `${example.action} ${example.workflow_job.status} ${JSON.stringify(example.workflow_job.labels)}`;
    if (selfHostedOnly && !selfHosted) {
      expect(stored, description).toBeUndefined();
      continue;
    }
    const { counted, ...expected } = expectedGitHubRow(example);
    expect(stored, description).toMatchObject(expected);
    expect(Object.keys(stored?.raw ?? {}), description).toEqual([example.action]);
    expect((await pressure('github', 'examples')) - before, `${description} counted`).toBe(counted ? 1 : 0);
  }
}

describe('GitHub workflow_job examples (@octokit/webhooks-examples)', () => {
  it('with GITHUB_SELF_HOSTED_ONLY (default): self-hosted jobs are recorded as the truth model says, others ignored', async () => {
    const worker = await system.start('worker');
    try {
      await sendEachGitHubExample(710_000, true);
    } finally {
      await worker.stop();
    }
  });

  it('with GITHUB_SELF_HOSTED_ONLY=false: every example ends as the right row', async () => {
    const worker = await system.start('worker', { GITHUB_SELF_HOSTED_ONLY: 'false' });
    try {
      await sendEachGitHubExample(720_000, false);

      // As documented, with their own ids: the examples of one job in the order GitHub sends them.
      const before = await pressure('github', 'examples');
      for (const example of examples) {
        expect((await sendGitHub(gateway.url, example)).status).toBe(202);
      }
      await drained(system.queue);
      // 289782451: queued, in_progress, completed (two conclusions): completed with its start.
      expect(await row('github', '289782451')).toMatchObject({
        held: false,
        startedAt: expect.any(Date),
        completedAt: new Date('2021-08-05T10:38:16Z'),
      });
      // 12877621891: queued while held by the environment's reviewers, then waiting: held.
      expect(await row('github', '12877621891')).toMatchObject({
        held: true,
        startedAt: null,
        completedAt: null,
      });
      // Two in_progress examples of their own jobs count; nothing else does.
      expect(await row('github', '2832853555')).toMatchObject({ held: false, startedAt: expect.any(Date) });
      expect(await row('github', '14541957942')).toMatchObject({ held: false, startedAt: expect.any(Date) });
      expect((await pressure('github', 'examples')) - before).toBe(2);
    } finally {
      await worker.stop();
    }
  });
});

describe('GitLab Job Hook (docs example)', () => {
  it('the example as documented (build_status created) is a held job', async () => {
    const worker = await system.start('worker');
    try {
      system.gitlab.setJob(380, { id: 1977, tag_list: ['docker'], status: 'created' });
      expect((await sendGitLab(gateway.url, gitlabJobHook())).status).toBe(202);
      await drained(system.queue);
      expect(await row('gitlab', '1977')).toMatchObject({
        held: true,
        labels: ['docker'],
        createdAt: new Date('2021-02-23T02:41:37Z'),
        startedAt: null,
        completedAt: null,
        assignedFlavor: null,
      });
    } finally {
      await worker.stop();
    }
  });

  it('with each build_status, alone, ends as the truth model says', async () => {
    const worker = await system.start('worker');
    try {
      let id = 730_000;
      for (const status of [...GITLAB_STATUSES, 'waiting_for_callback']) {
        id += 1;
        const phase = GITLAB_PHASE[status as keyof typeof GITLAB_PHASE] ?? 'held';
        system.gitlab.setJob(380, { id, tag_list: ['docker'], status });
        const before = await pressure('gitlab', 'docker');
        const sentAt = Date.now();
        expect(
          (await sendGitLab(gateway.url, gitlabJobHook({ build_id: id, build_status: status }))).status,
        ).toBe(202);
        await drained(system.queue);
        const doneAt = Date.now();
        const stored = await row('gitlab', String(id));
        // The example has no build_started_at / build_finished_at: the time it was received stands in.
        const around = (date: Date | null | undefined) =>
          date instanceof Date && date.getTime() >= sentAt - 1000 && date.getTime() <= doneAt + 1000;
        expect(stored, status).toMatchObject({
          held: phase === 'held',
          labels: ['docker'],
          createdAt: new Date('2021-02-23T02:41:37Z'),
        });
        expect(Object.keys(stored?.raw ?? {}), status).toEqual([status]);
        expect(
          phase === 'running' ? around(stored?.startedAt) : stored?.startedAt === null,
          `${status} start`,
        ).toBe(true);
        expect(
          phase === 'ended' ? around(stored?.completedAt) : stored?.completedAt === null,
          `${status} end`,
        ).toBe(true);
        const counted = phase === 'waiting' || phase === 'running';
        expect((await pressure('gitlab', 'docker')) - before, `${status} counted`).toBe(counted ? 1 : 0);
      }
    } finally {
      await worker.stop();
    }
  });
});
