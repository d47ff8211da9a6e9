/**
 * Amplification through forged GitLab job ids: a Job Hook naming a job GitLab does not know used
 * to be looked up again and again (up to 1,440 tries each), every try spending GITLAB_TOKEN's
 * rate limit. Now a refused lookup (401, 403, 404) is tried FORGE_REFUSED_TRIES times, the
 * answer is shared by the events of the same job meanwhile, and the event is dead-lettered with
 * GitLab's answer. Failures that can pass (5xx) keep the usual retries.
 */
import { loadConfig } from '@runner-planner/config';
import {
  createWebhookProducer,
  type Envelope,
  WEBHOOK_QUEUE,
  type WebhookProducer,
} from '@runner-planner/queue';
import { createTestQueuePrefix, type FakeGitLab, startFakeGitLab } from '@runner-planner/testkit';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GitLabTagResolver, type RunningWorker, startWorker, TagRefusedError } from '../src/index.js';
import { gitlabJobHook, storedJob, useDatabase, webhookEnvelope } from './support.js';

const TRIES = 2;
const RETRY_DELAY_MS = 600;
const PROJECT = 380;

const fixture = useDatabase('worker_forged');
const space = createTestQueuePrefix('worker-forged');
let gitlab: FakeGitLab;
let producer: WebhookProducer;
let queue: Queue;
let worker: RunningWorker;

beforeAll(async () => {
  gitlab = await startFakeGitLab();
  producer = createWebhookProducer({ redisUrl: space.redisUrl, prefix: space.prefix });
  queue = new Queue(WEBHOOK_QUEUE, { connection: { url: space.redisUrl }, prefix: space.prefix });
  worker = await startWorker(
    loadConfig({
      DATABASE_URL: fixture.url,
      REDIS_URL: space.redisUrl,
      QUEUE_PREFIX: space.prefix,
      WORKER_CONCURRENCY: '4',
      GITLAB_URL: gitlab.url,
      GITLAB_TOKEN: gitlab.token,
      FORGE_REFUSED_TRIES: String(TRIES),
      FORGE_REFUSED_RETRY_DELAY: `${RETRY_DELAY_MS}ms`,
      LOG_LEVEL: 'silent',
    }),
    { listen: false, reconcile: false },
  );
});
afterAll(async () => {
  await worker?.close();
  await producer?.close();
  await queue?.close();
  await space.cleanup();
  await gitlab?.close();
});

function jobHook(buildId: number, status = 'pending'): Envelope {
  return webhookEnvelope('gitlab', gitlabJobHook({ build_id: buildId, build_status: status }));
}
const queueJob = async (event: Envelope) => queue.getJob(`gitlab-${event.deliveryId}`);
const lookups = (buildId: number) =>
  gitlab.requests.filter((path) => path === `/api/v4/projects/${PROJECT}/jobs/${buildId}`).length;
async function settled(events: Envelope[], state: 'failed' | 'completed'): Promise<void> {
  await expect
    .poll(async () => await Promise.all(events.map(async (e) => (await queueJob(e))?.getState())), {
      timeout: 20_000,
      interval: 50,
    })
    .toEqual(events.map(() => state));
}
const processed = async (outcome: string) =>
  (
    await worker.metrics.registry.getSingleMetric('runner_planner_worker_events_processed_total')?.get()
  )?.values
    .filter((value) => value.labels.outcome === outcome && value.labels.platform === 'gitlab')
    .reduce((sum, value) => sum + value.value, 0) ?? 0;

describe('forged GitLab job ids against the running worker', () => {
  it('cost FORGE_REFUSED_TRIES lookups per id, one for a burst of the same id, then are dead-lettered with the 404', async () => {
    const burstId = 990_000;
    const forgedIds = Array.from({ length: 20 }, (_, i) => 990_001 + i);
    const burst = Array.from({ length: 10 }, () => jobHook(burstId));
    const forged = forgedIds.map((id) => jobHook(id));
    const before = gitlab.requests.length;
    for (const event of [...burst, ...forged]) await producer.enqueue(event);
    await settled([...burst, ...forged], 'failed');

    for (const id of forgedIds) expect(lookups(id), `job ${id}`).toBe(TRIES);
    // Ten events of one id, tried twice each: GitLab asked once per round, not twenty times.
    expect(lookups(burstId)).toBe(TRIES);
    expect(gitlab.requests.length - before).toBe((forgedIds.length + 1) * TRIES);

    for (const event of [...burst, ...forged]) {
      const job = await queueJob(event);
      expect(job?.failedReason).toMatch(
        new RegExp(
          `^GitLab API answered 404 for job ${JSON.parse(event.body).build_id} of project ${PROJECT}: 404 Not found \\(refused ${TRIES} times\\)$`,
        ),
      );
      expect(job?.attemptsMade).toBe(TRIES);
    }
    expect(await processed('dead_lettered')).toBe(burst.length + forged.length);
    expect(await fixture.db.listJobs('gitlab', { limit: 100 })).toEqual([]);
  });

  it('keeps the usual retries for a 5xx, which is no refusal, and records a job first answered 404', async () => {
    // GitLab fails once, then answers 404 as a read replica that has not seen the job yet does.
    gitlab.failNext(1, 503);
    const event = jobHook(5_050);
    await producer.enqueue(event);
    await expect
      .poll(async () => (await queueJob(event))?.attemptsMade, { timeout: 10_000, interval: 20 })
      .toBe(1);
    const afterFailure = await queueJob(event);
    expect(await afterFailure?.getState()).toBe('delayed');
    expect(afterFailure?.failedReason).toMatch(/could not show job 5050 .*failing on purpose/);
    expect(afterFailure?.data).not.toHaveProperty('refusals');
    await expect
      .poll(async () => (await queueJob(event))?.data.refusals, { timeout: 10_000, interval: 20 })
      .toBe(1);
    gitlab.setJob(PROJECT, { id: 5_050, tag_list: ['gpu'] });
    await settled([event], 'completed');
    // Three tries, with TRIES = 2: the 503 was not counted as a refusal.
    expect((await queueJob(event))?.attemptsMade).toBe(3);
    expect(lookups(5_050)).toBe(3);
    expect((await storedJob(fixture.db, 'gitlab', '5050'))?.labels).toEqual(['gpu']);
  });

  it('records a real job with one lookup', async () => {
    gitlab.setJob(PROJECT, { id: 6_060, tag_list: ['Docker'] });
    const events = [jobHook(6_060, 'created'), jobHook(6_060, 'pending')];
    for (const event of events) await producer.enqueue(event);
    await settled(events, 'completed');
    expect(lookups(6_060)).toBe(1);
    expect(await storedJob(fixture.db, 'gitlab', '6060')).toMatchObject({ labels: ['docker'], held: false });
  });
});

describe('GitLabTagResolver refusals', () => {
  it('remembers a 401 for the whole host: a refused token costs one request for any number of ids', async () => {
    const resolver = new GitLabTagResolver({ url: gitlab.url, token: 'glpat-revoked' });
    const before = gitlab.requests.length;
    const refused = {
      name: 'TagRefusedError',
      status: 401,
      message: 'GitLab API answered 401 (GITLAB_TOKEN not accepted): 401 Unauthorized',
    };
    await expect(resolver.tags(PROJECT, '1')).rejects.toMatchObject(refused);
    const answers = await Promise.allSettled(
      Array.from({ length: 50 }, (_, i) => resolver.tags(PROJECT + i, String(i + 2))),
    );
    expect(gitlab.requests.length - before).toBe(1);
    for (const answer of answers) {
      expect(answer.status).toBe('rejected');
      if (answer.status === 'rejected') expect(answer.reason).toMatchObject(refused);
    }
    // An event that already heard this refusal gets a fresh answer on its next try.
    await expect(resolver.tags(PROJECT, '1', Date.now())).rejects.toBeInstanceOf(TagRefusedError);
    expect(gitlab.requests.length - before).toBe(2);
  });

  it('treats a 403 as a refusal, and asks again once the refusal is forgotten', async () => {
    const resolver = new GitLabTagResolver({ url: gitlab.url, token: gitlab.token, refusalCacheMs: 100 });
    gitlab.setJob(PROJECT, { id: 8_080, tag_list: ['x'] });
    gitlab.failNext(1, 403);
    await expect(resolver.tags(PROJECT, '8080')).rejects.toMatchObject({ status: 403 });
    await expect(resolver.tags(PROJECT, '8080')).rejects.toMatchObject({ status: 403 });
    expect(lookups(8_080)).toBe(1);
    await expect.poll(() => resolver.tags(PROJECT, '8080').catch(() => []), { interval: 50 }).toEqual(['x']);
    expect(lookups(8_080)).toBe(2);
  });
});
