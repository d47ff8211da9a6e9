import { createHmac, randomBytes } from 'node:crypto';
import { type Config, loadConfig } from '@runner-planner/config';
import { type Envelope, queueJobId, WEBHOOK_QUEUE } from '@runner-planner/queue';
import { createTestQueuePrefix, TEST_REDIS_URL } from '@runner-planner/testkit';
import { Queue } from 'bullmq';

export const REDIS_URL = TEST_REDIS_URL;
export const GITHUB_SECRET = 'github-secret-current';
export const GITHUB_OLD_SECRET = 'github-secret-previous';
export const GITLAB_TOKEN = 'gitlab-webhook-token';
export const SIGNING_TOKEN = `whsec_${randomBytes(32).toString('base64')}`;

export function testConfig(prefix: string, overrides: Partial<Config> = {}): Config {
  return {
    ...loadConfig({ REDIS_URL, QUEUE_PREFIX: prefix, LOG_LEVEL: 'silent' }),
    githubWebhookSecrets: [GITHUB_SECRET, GITHUB_OLD_SECRET],
    gitlabToken: 'glpat-test',
    gitlabWebhookTokens: [GITLAB_TOKEN],
    ...overrides,
  };
}

export function githubSignature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** Looks at what the gateway enqueued through BullMQ's own API, under a test file's own prefix. */
export class QueueInspector {
  private readonly space = createTestQueuePrefix('gw');
  private readonly queue = new Queue<Envelope>(WEBHOOK_QUEUE, {
    connection: { url: this.space.redisUrl },
    prefix: this.space.prefix,
  });

  get prefix(): string {
    return this.space.prefix;
  }

  async job(platform: Envelope['platform'], deliveryId: string): Promise<Envelope | undefined> {
    return (await this.queue.getJob(queueJobId(platform, deliveryId)))?.data;
  }

  /** Ids of the jobs waiting to be processed. */
  async waiting(): Promise<string[]> {
    return (await this.queue.getWaiting()).map((job) => job.id ?? '');
  }

  async cleanup(): Promise<void> {
    await this.queue.close();
    await this.space.cleanup();
  }
}
