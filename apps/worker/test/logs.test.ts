import { Writable } from 'node:stream';
import { loadConfig } from '@runner-planner/config';
import { createWebhookProducer, WEBHOOK_QUEUE, type WebhookProducer } from '@runner-planner/queue';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createGitHubClient, GitLabJobLookup, reconcileOnce, startWorker } from '../src/index.js';
import { useReconcileWorld } from './reconcile-world.js';
import { githubWorkflowJob, gitlabJobHook, webhookEnvelope } from './support.js';

const world = useReconcileWorld('logs');
const { fixture, queue: space } = world;
let producer: WebhookProducer;
let queue: Queue;
beforeAll(() => {
  producer = createWebhookProducer({ redisUrl: space.redisUrl, prefix: space.prefix });
  queue = new Queue(WEBHOOK_QUEUE, { connection: { url: space.redisUrl }, prefix: space.prefix });
});
beforeEach(() => space.cleanup());
afterAll(async () => {
  await producer?.close();
  await queue?.close();
});

interface Line {
  level: number;
  msg: string;
  [field: string]: unknown;
}

/** A pino destination that keeps the parsed lines. */
function sink(): { stream: Writable; lines: Line[] } {
  const lines: Line[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const text of String(chunk).split('\n')) if (text !== '') lines.push(JSON.parse(text));
      done();
    },
  });
  return { stream, lines };
}

describe('reconcile failures', () => {
  it("are told once per cause and pass, with the forge's status and message, never the token", async () => {
    for (const id of [1, 2, 3]) {
      await fixture.db.addJob({
        platform: 'github',
        id: String(id),
        labels: [],
        createdAt: new Date(),
        startedAt: null,
        completedAt: null,
        raw: { queued: githubWorkflowJob('queued', { id }) },
      });
    }
    for (const id of [7, 8]) {
      await fixture.db.addJob({
        platform: 'gitlab',
        id: String(id),
        labels: [],
        createdAt: new Date(),
        startedAt: null,
        completedAt: null,
        raw: { pending: { project_id: 5 } },
      });
    }
    await fixture.sql.query(`UPDATE job SET updated_at = now() - interval '1 hour'`);
    const told: { message: string; details: Record<string, unknown> | undefined }[] = [];
    const { options } = world.options({
      github: createGitHubClient({ baseUrl: world.github.url, token: 'ghp_revoked-token-0000' }),
      gitlab: new GitLabJobLookup({ url: world.gitlab.url, token: 'glpat-revoked-token' }),
      githubHooks: [{ kind: 'repo', owner: 'octo', repo: 'repo', hookId: 7 }],
      warn: (message, details) => told.push({ message, details }),
    });

    const report = await reconcileOnce(options);
    expect(report.stale.errors + report.redelivery.errors).toBe(6);
    const messages = told.map((t) => t.message).sort();
    expect(messages).toEqual([
      'GitHub hook delivery listings failed (1): 401 Bad credentials; first: hook repo:octo/repo:7',
      expect.stringMatching(
        /^GitHub job lookups failed \(3\): 401 Bad credentials; first: github job [123] of octo\/repo$/,
      ),
      expect.stringMatching(
        /^GitLab job lookups failed \(2\): 401 Unauthorized; first: gitlab job [78] of project 5$/,
      ),
    ]);
    expect(told.find((t) => t.message.startsWith('GitHub job lookups'))?.details).toMatchObject({
      failed: 'GitHub job lookups',
      count: 3,
      status: 401,
      error: 'Bad credentials',
    });
    expect(JSON.stringify(told)).not.toMatch(/revoked/);

    // The next pass tells them again: each pass is one look at the forges.
    await reconcileOnce(options);
    expect(told).toHaveLength(6);
  });
});

describe('the running worker', () => {
  it('logs each dead letter with its job and reason, and a retried failure once for all the jobs it fails', async () => {
    const { stream, lines } = sink();
    const config = loadConfig({
      DATABASE_URL: fixture.url,
      REDIS_URL: space.redisUrl,
      QUEUE_PREFIX: space.prefix,
      GITLAB_URL: world.gitlab.url,
      GITLAB_TOKEN: 'glpat-not-accepted',
      FORGE_REFUSED_TRIES: '2',
      FORGE_REFUSED_RETRY_DELAY: '200ms',
    });
    const worker = await startWorker(config, {
      listen: false,
      reconcile: false,
      logger: { level: 'info', stream },
    });
    try {
      const hooks = [31, 32, 33, 34].map((id) =>
        webhookEnvelope('gitlab', gitlabJobHook({ build_id: id, build_status: 'pending' }), {
          deliveryId: `refused-${id}`,
        }),
      );
      for (const hook of hooks) await producer.enqueue(hook);
      await producer.enqueue(webhookEnvelope('github', '{"action":', { deliveryId: 'broken' }));
      await expect
        .poll(async () => (await queue.getJobCounts('failed')).failed, { timeout: 20_000, interval: 100 })
        .toBe(5);
    } finally {
      await worker.close();
    }
    const retried = lines.filter((line) => line.msg.includes('will be retried'));
    expect(retried).toHaveLength(1);
    expect(retried[0]).toMatchObject({
      level: 40,
      queue: WEBHOOK_QUEUE,
      msg: expect.stringMatching(
        /^webhook job gitlab-refused-3[1-4] failed, will be retried: GitLab API answered 401 \(GITLAB_TOKEN not accepted\): 401 Unauthorized$/,
      ),
    });
    const dead = lines.filter((line) => line.msg.includes('dead-lettered'));
    expect(dead.map((line) => line.job).sort()).toEqual([
      'github-broken',
      'gitlab-refused-31',
      'gitlab-refused-32',
      'gitlab-refused-33',
      'gitlab-refused-34',
    ]);
    expect(dead.every((line) => line.level === 50)).toBe(true);
    expect(dead.find((line) => line.job === 'github-broken')?.msg).toMatch(
      /^webhook job github-broken dead-lettered: body is not valid JSON/,
    );
    expect(JSON.stringify(lines)).not.toContain('glpat-not-accepted');
  });
});
