import { randomUUID } from 'node:crypto';
import { startTcpProxy } from '@runner-planner/testkit';
import { describe, expect, it } from 'vitest';
import { gitlabJobHook, useSystem } from '../support/system.js';
import { sendGitHub, sendGitLab } from '../support/webhooks.js';

const system = useSystem('e2e_faults');

function queued(id: number) {
  return {
    action: 'queued',
    workflow_job: {
      id,
      labels: ['self-hosted', 'x64'],
      created_at: '2026-11-28T10:00:00Z',
      started_at: null,
    },
  };
}

async function storedIds(platform: string): Promise<number[]> {
  return (await system.db.listJobs(platform, { limit: 10_000 }))
    .map((job) => Number(job.id))
    .sort((a, b) => a - b);
}

const range = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i);

describe('faults', () => {
  it('PostgreSQL unreachable while events arrive: nothing lost, every row right once it is back', async () => {
    const target = new URL(system.databaseUrl);
    const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
    const throughProxy = new URL(system.databaseUrl);
    throughProxy.port = String(proxy.port);
    const gateway = await system.start('gateway');
    const worker = await system.start('worker', { DATABASE_URL: throughProxy.toString() });
    try {
      proxy.cut();
      const ids = range(1_000, 30);
      for (const id of ids) expect((await sendGitHub(gateway.url, queued(id))).status).toBe(202);
      await expect
        .poll(async () => (await system.queue.getJobCounts('delayed')).delayed, { timeout: 20_000 })
        .toBeGreaterThan(0);
      expect(await storedIds('github')).toEqual([]);
      proxy.restore();
      await system.drained(60_000);
      expect(await storedIds('github')).toEqual(ids);
      expect((await system.queue.getJobCounts('failed')).failed).toBe(0);
    } finally {
      await worker.stop();
      await gateway.stop();
      await proxy.close();
    }
  });

  it('Redis down: the gateway answers 503, then recovers by itself when Redis returns', async () => {
    const target = new URL(system.redisUrl);
    const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 6379) });
    const gateway = await system.start('gateway', { REDIS_URL: `redis://127.0.0.1:${proxy.port}` });
    try {
      expect((await sendGitHub(gateway.url, queued(2_000))).status).toBe(202);
      proxy.cut();
      const refused = await sendGitHub(gateway.url, queued(2_001));
      expect(refused.status).toBe(503);
      expect((await fetch(`${gateway.url}/ready`)).status).toBe(503);
      expect((await fetch(`${gateway.url}/health`)).status).toBe(200);
      proxy.restore();
      await expect
        .poll(async () => (await fetch(`${gateway.url}/ready`)).status, { timeout: 15_000 })
        .toBe(200);
      // The forge redelivers the refused event; this time it is taken.
      expect((await sendGitHub(gateway.url, queued(2_001))).status).toBe(202);
      const worker = await system.start('worker');
      await system.drained();
      expect(await storedIds('github')).toEqual(expect.arrayContaining([2_000, 2_001]));
      await worker.stop();
    } finally {
      await gateway.stop();
      await proxy.close();
    }
  });

  it('GitLab API failing: events wait and retry, and are recorded with the right tags when it recovers', async () => {
    const gateway = await system.start('gateway');
    const worker = await system.start('worker');
    try {
      for (const id of range(3_000, 5)) system.gitlab.setJob(380, { id, tag_list: ['gpu'] });
      system.gitlab.failAll(503);
      for (const id of range(3_000, 5)) {
        expect(
          (await sendGitLab(gateway.url, gitlabJobHook({ build_id: id, build_status: 'pending' }))).status,
        ).toBe(202);
      }
      await expect
        .poll(async () => (await system.queue.getJobCounts('delayed')).delayed, { timeout: 20_000 })
        .toBe(5);
      expect(await storedIds('gitlab')).toEqual([]);
      system.gitlab.failAll(null);
      await system.drained(60_000);
      expect(await storedIds('gitlab')).toEqual(range(3_000, 5));
      for (const job of await system.db.listJobs('gitlab')) expect(job.labels).toEqual(['gpu']);
    } finally {
      system.gitlab.failAll(null);
      await worker.stop();
      await gateway.stop();
    }
  });

  it('a delivery whose processing failed is processed again when redelivered with the same id', async () => {
    const gateway = await system.start('gateway');
    const worker = await system.start('worker');
    try {
      const delivery = randomUUID();
      await sendGitHub(gateway.url, null, { delivery, body: '{"action":"queued","workflow_job":{"id":4000' });
      await expect
        .poll(async () => (await system.queue.getJob(`github-${delivery}`))?.failedReason)
        .toBeTruthy();
      const again = await sendGitHub(gateway.url, queued(4_000), { delivery });
      expect(again.status).toBe(202);
      expect(await again.json()).toEqual({ result: 'requeued' });
      await system.drained();
      expect(await storedIds('github')).toContain(4_000);
      expect(await (await system.queue.getJob(`github-${delivery}`))?.getState()).toBe('completed');
    } finally {
      await worker.stop();
      await gateway.stop();
    }
  });

  it('a worker killed mid-batch (SIGKILL): the jobs it held are processed by another worker', async () => {
    const gateway = await system.start('gateway');
    const settings = { WORKER_LOCK_SECONDS: '2', WORKER_CONCURRENCY: '10' };
    const failedBefore = (await system.queue.getJobCounts('failed')).failed;
    const doomed = await system.start('worker', settings);
    const ids = range(5_000, 10);
    for (const id of ids) system.gitlab.setJob(380, { id, tag_list: ['arm64'] });
    // Slow tag look-ups keep every job active in the doomed worker.
    system.gitlab.setDelay(3_000);
    try {
      for (const id of ids)
        await sendGitLab(gateway.url, gitlabJobHook({ build_id: id, build_status: 'pending' }));
      await expect
        .poll(async () => (await system.queue.getJobCounts('active')).active, { timeout: 10_000 })
        .toBe(10);
      await doomed.kill();
      system.gitlab.setDelay(0);
      expect(await storedIds('gitlab')).not.toEqual(expect.arrayContaining(ids));
      const rescuer = await system.start('worker', settings);
      await system.drained(60_000);
      expect(await storedIds('gitlab')).toEqual(expect.arrayContaining(ids));
      expect((await system.queue.getJobCounts('failed')).failed).toBe(failedBefore);
      await rescuer.stop();
    } finally {
      system.gitlab.setDelay(0);
      await gateway.stop();
    }
  });
});
