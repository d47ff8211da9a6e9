import { loadConfig } from '@runner-planner/config';
import {
  createWebhookProducer,
  type Envelope,
  WEBHOOK_QUEUE,
  type WebhookProducer,
} from '@runner-planner/queue';
import {
  createTestQueuePrefix,
  startFakeGitLab,
  startTcpProxy,
  type TcpProxy,
} from '@runner-planner/testkit';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningWorker, startWorker } from '../src/index.js';
import { githubWorkflowJob, gitlabJobHook, storedJob, useDatabase } from './support.js';

const fixture = useDatabase('worker_running');
const space = createTestQueuePrefix('worker');
let producer: WebhookProducer;
let queue: Queue;

beforeAll(() => {
  producer = createWebhookProducer({ redisUrl: space.redisUrl, prefix: space.prefix });
  queue = new Queue(WEBHOOK_QUEUE, { connection: { url: space.redisUrl }, prefix: space.prefix });
});
afterAll(async () => {
  await producer.close();
  await queue.close();
  await space.cleanup();
});

let delivery = 0;
function envelope(body: unknown): Envelope {
  delivery += 1;
  return {
    platform: 'github',
    deliveryId: `delivery-${delivery}`,
    event: 'workflow_job',
    receivedAt: new Date().toISOString(),
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  };
}

function start(databaseUrl: string, overrides: Record<string, string> = {}): Promise<RunningWorker> {
  const config = loadConfig({
    DATABASE_URL: databaseUrl,
    REDIS_URL: space.redisUrl,
    QUEUE_PREFIX: space.prefix,
    WORKER_CONCURRENCY: '4',
    LOG_LEVEL: 'silent',
    ...overrides,
  });
  return startWorker(config, { listen: false });
}

async function settled(): Promise<void> {
  await expect
    .poll(
      async () => {
        const counts = await queue.getJobCounts('waiting', 'active', 'delayed');
        return (counts.waiting ?? 0) + (counts.active ?? 0) + (counts.delayed ?? 0);
      },
      { timeout: 30_000, interval: 100 },
    )
    .toBe(0);
}

describe('running worker', () => {
  it('records queued events, ignores others and dead-letters the unparsable with the reason', async () => {
    const worker = await start(fixture.url);
    try {
      await producer.enqueue(envelope(githubWorkflowJob('queued', { id: 11 })));
      await producer.enqueue(envelope(githubWorkflowJob('queued', { id: 12, labels: ['ubuntu-latest'] })));
      const broken = envelope('{"action":');
      await producer.enqueue(broken);
      await settled();
      expect(await storedJob(fixture.db, 'github', '11')).toMatchObject({ labels: ['x64'] });
      expect(await storedJob(fixture.db, 'github', '12')).toBeUndefined();
      const failed = await queue.getJob(`github-${broken.deliveryId}`);
      expect(await failed?.getState()).toBe('failed');
      expect(failed?.failedReason).toMatch(/^body is not valid JSON/);
      const metrics = await worker.metrics.registry.metrics();
      expect(metrics).toContain(
        'runner_planner_worker_events_processed_total{platform="github",outcome="recorded"} 1',
      );
      expect(metrics).toContain(
        'runner_planner_worker_events_processed_total{platform="github",outcome="ignored"} 1',
      );
    } finally {
      await worker.close();
    }
  });

  it('loses nothing while PostgreSQL is unreachable and records everything once it is back', async () => {
    const url = new URL(fixture.url);
    const proxy: TcpProxy = await startTcpProxy({ host: url.hostname, port: Number(url.port || 5432) });
    url.port = String(proxy.port);
    const worker = await start(url.toString());
    try {
      const failedBefore = (await queue.getJobCounts('failed')).failed;
      proxy.cut();
      const ids = Array.from({ length: 20 }, (_, i) => 100 + i);
      for (const id of ids) await producer.enqueue(envelope(githubWorkflowJob('queued', { id })));
      // Let every event fail at least once against the missing database.
      await expect
        .poll(async () => (await queue.getJobCounts('delayed')).delayed, { timeout: 20_000 })
        .toBeGreaterThan(0);
      expect(await fixture.db.listJobs('github', { limit: 1000 })).toHaveLength(0);
      proxy.restore();
      await settled();
      const stored = await fixture.db.listJobs('github', { limit: 1000 });
      expect(stored.map((job) => Number(job.id)).sort((a, b) => a - b)).toEqual(ids);
      expect((await queue.getJobCounts('failed')).failed).toBe(failedBefore);
    } finally {
      await worker.close();
      await proxy.close();
    }
  });

  it('finishes the job in flight when closed', async () => {
    const gitlab = await startFakeGitLab();
    gitlab.setJob(380, { id: 300, tag_list: ['docker'] });
    gitlab.setDelay(1_500);
    const worker = await start(fixture.url, { GITLAB_URL: gitlab.url, GITLAB_TOKEN: gitlab.token });
    try {
      const event = {
        ...envelope(gitlabJobHook({ build_id: 300 })),
        platform: 'gitlab' as const,
        event: 'Job Hook',
      };
      await producer.enqueue(event);
      // The tag lookup holds the job active for 1.5 s: close while it is in flight.
      await expect.poll(() => gitlab.requests.length, { timeout: 10_000, interval: 20 }).toBe(1);
      expect(await (await queue.getJob(`gitlab-${event.deliveryId}`))?.getState()).toBe('active');
      await worker.close();
      expect((await storedJob(fixture.db, 'gitlab', '300'))?.labels).toEqual(['docker']);
      expect(await (await queue.getJob(`gitlab-${event.deliveryId}`))?.getState()).toBe('completed');
    } finally {
      await gitlab.close();
    }
  });
});
