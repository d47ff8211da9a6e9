import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { gitlabJobHook, useSystem } from '../support/system.js';
import { sendGitHub, sendGitLab, workflowJobExamples } from '../support/webhooks.js';

const system = useSystem('e2e_webhooks');

const ACTION_OF = {
  queued: 'queued',
  in_progress: 'started',
  completed: 'completed',
  waiting: 'held',
} as const;

async function returnValueOf(platform: string, delivery: string) {
  return (await system.queue.getJob(`${platform}-${delivery}`))?.returnvalue;
}

describe('GitHub webhooks through the running gateway and worker', () => {
  it('record every @octokit/webhooks-examples workflow_job example, or ignore it for the right reason', async () => {
    const examples = workflowJobExamples();
    expect(examples).toHaveLength(8);
    // The examples are sent twice (to two worker settings): no replay check between the rounds.
    const gateway = await system.start('gateway', { GATEWAY_REPLAY_WINDOW: '0' });

    // Default: only self-hosted jobs are kept.
    const strict = await system.start('worker');
    const strictDeliveries = [];
    for (const example of examples) {
      const delivery = randomUUID();
      strictDeliveries.push(delivery);
      expect((await sendGitHub(gateway.url, example, { delivery })).status).toBe(202);
    }
    await system.drained();
    for (const [i, example] of examples.entries()) {
      const result = await returnValueOf('github', strictDeliveries[i]!);
      const selfHosted = example.workflow_job.labels.some((label) => label.toLowerCase() === 'self-hosted');
      // A queued job that deployment protection rules still hold (status "waiting") is held.
      const heldQueued = example.action === 'queued' && example.workflow_job.status === 'waiting';
      if (!selfHosted) {
        expect(result).toEqual({
          outcome: 'ignored',
          reason: expect.stringContaining('is not for a self-hosted runner'),
        });
      } else {
        expect(result).toEqual({
          outcome: 'recorded',
          action: heldQueued ? 'held' : ACTION_OF[example.action as keyof typeof ACTION_OF],
        });
      }
    }
    const selfHostedQueued = examples.find(
      (e) => e.action === 'queued' && e.workflow_job.labels.includes('self-hosted'),
    );
    const [row] = await system.db.listJobs('github', { withId: String(selfHostedQueued?.workflow_job.id) });
    expect(row).toMatchObject({
      labels: ['k8s'],
      startedAt: null,
      completedAt: null,
      held: true,
      assignedFlavor: null,
      raw: { queued: expect.any(Object), waiting: expect.any(Object) },
    });
    expect(await strict.stop()).toBe(0);

    // With GITHUB_SELF_HOSTED_ONLY=false every job is kept and matching decides.
    const lenient = await system.start('worker', { GITHUB_SELF_HOSTED_ONLY: 'false' });
    for (const example of examples) expect((await sendGitHub(gateway.url, example)).status).toBe(202);
    await system.drained();
    for (const example of examples) {
      const [stored] = await system.db.listJobs('github', { withId: String(example.workflow_job.id) });
      expect(stored, `workflow_job ${example.workflow_job.id}`).toBeDefined();
      expect(stored?.raw).toHaveProperty(example.action);
      if (example.action === 'completed') expect(stored?.completedAt).not.toBeNull();
      if (example.action === 'in_progress' || example.action === 'completed') {
        expect(stored?.startedAt).not.toBeNull();
      }
    }
    await lenient.stop();
  });

  it('acknowledge a correctly signed malformed body and dead-letter it with the reason', async () => {
    const gateway = await system.start('gateway');
    const worker = await system.start('worker');
    const delivery = randomUUID();
    const response = await sendGitHub(gateway.url, null, {
      body: '{"action": "queued", "workflow_job": ',
      delivery,
    });
    expect(response.status).toBe(202);
    await expect
      .poll(async () => (await system.queue.getJob(`github-${delivery}`))?.failedReason)
      .toMatch(/^body is not valid JSON/);
    expect(worker.child.exitCode).toBeNull();
    expect(gateway.child.exitCode).toBeNull();
    await worker.stop();
    await gateway.stop();
  });
});

describe('GitLab webhooks through the running gateway and worker', () => {
  // docs/pressure.md: the phase of each status.
  const statuses: [string, 'held' | 'queued' | 'started' | 'completed' | 'ignored'][] = [
    ['created', 'held'],
    ['manual', 'held'],
    ['scheduled', 'held'],
    ['waiting_for_resource', 'held'],
    ['preparing', 'held'],
    ['skipped', 'held'],
    ['pending', 'queued'],
    ['running', 'started'],
    ['canceling', 'started'],
    ['success', 'completed'],
    ['failed', 'completed'],
    ['canceled', 'completed'],
    ['bogus', 'ignored'],
  ];

  it('record the documented Job Hook and a variant for every status, with tags from the GitLab API', async () => {
    const gateway = await system.start('gateway');
    const worker = await system.start('worker');
    const deliveries = [];
    for (const [i, [status]] of statuses.entries()) {
      const buildId = 50_000 + i;
      system.gitlab.setJob(380, { id: buildId, tag_list: ['Docker', 'X64'] });
      const delivery = randomUUID();
      deliveries.push(delivery);
      const hook = gitlabJobHook({
        build_id: buildId,
        build_status: status,
        build_started_at_iso: '2021-02-23T02:45:00Z',
        build_finished_at_iso: '2021-02-23T02:50:00Z',
      });
      expect((await sendGitLab(gateway.url, hook, { delivery })).status).toBe(202);
    }
    await system.drained();
    for (const [i, [status, expected]] of statuses.entries()) {
      const result = await returnValueOf('gitlab', deliveries[i]!);
      const [row] = await system.db.listJobs('gitlab', { withId: String(50_000 + i) });
      if (expected === 'ignored') {
        expect(result).toEqual({ outcome: 'ignored', reason: `build_status "${status}" is not tracked` });
        expect(row).toBeUndefined();
        continue;
      }
      expect(result).toEqual({ outcome: 'recorded', action: expected });
      expect(row).toMatchObject({ labels: ['docker', 'x64'], createdAt: new Date('2021-02-23T02:41:37Z') });
      expect(row?.raw).toHaveProperty(status);
      const started = expected === 'started' || expected === 'completed';
      expect(row?.startedAt).toEqual(started ? new Date('2021-02-23T02:45:00Z') : null);
      expect(row?.completedAt).toEqual(expected === 'completed' ? new Date('2021-02-23T02:50:00Z') : null);
      expect(row?.held).toBe(expected === 'held');
    }
    await worker.stop();
    await gateway.stop();
  });

  it('read each of GitLab’s three timestamp formats', async () => {
    const gateway = await system.start('gateway');
    const worker = await system.start('worker');
    const formats = [
      { build_created_at: '2021-01-13 17:57:05 UTC', build_created_at_iso: null },
      { build_created_at: '2021-01-13T17:57:05.000Z', build_created_at_iso: null },
      { build_created_at: 'ignored when iso is there', build_created_at_iso: '2021-01-13T17:57:05Z' },
    ];
    for (const [i, format] of formats.entries()) {
      system.gitlab.setJob(380, { id: 60_000 + i, tag_list: [] });
      await sendGitLab(
        gateway.url,
        gitlabJobHook({ build_id: 60_000 + i, build_status: 'pending', ...format }),
      );
    }
    await system.drained();
    for (const i of formats.keys()) {
      const [row] = await system.db.listJobs('gitlab', { withId: String(60_000 + i) });
      expect(row?.createdAt).toEqual(new Date('2021-01-13T17:57:05Z'));
    }
    await worker.stop();
    await gateway.stop();
  });
});
