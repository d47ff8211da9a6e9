import { randomBytes } from 'node:crypto';
import { Database, migrate } from '@runner-planner/database';
import { redisConnection, WEBHOOK_QUEUE } from '@runner-planner/queue';
import {
  createTestDatabase,
  createTestQueuePrefix,
  type FakeGitLab,
  startFakeGitLab,
} from '@runner-planner/testkit';
import { Queue } from 'bullmq';
import { type AppName, type AppProcess, startApp } from '../../support/apps.js';
import { GITHUB_SECRET, GITLAB_WEBHOOK_TOKEN } from '../../support/webhooks.js';
import { FLAVORS, type StreamPlan } from './truth.js';

export interface WorldOptions {
  label: string;
  /** PostgreSQL server to create the database on; the test run's server by default. */
  adminUrl?: string;
  /** Redis of the scenario's own; the machine's (with a unique prefix) by default. */
  redisUrl?: string;
  /** Settings every app of the scenario gets. */
  env?: Record<string, string>;
}

/** One scenario's database, queue prefix, fake GitLab and app processes. */
export interface World {
  databaseUrl: string;
  redisUrl: string;
  db: Database;
  queue: Queue;
  gitlab: FakeGitLab;
  start(name: AppName, options?: { port?: number; env?: Record<string, string> }): Promise<AppProcess>;
  /** Registers the plan's flavors and its GitLab jobs' tags on the fake GitLab. */
  prepare(plan: StreamPlan): Promise<void>;
  /** Queued webhooks not yet done: waiting, running or scheduled for a retry. */
  backlog(): Promise<number>;
  /** Webhooks parked in the failed (dead-letter) state. */
  deadLetters(): Promise<number>;
  /** Log lines of every app started so far, killed ones included, that contain `text`. */
  logLines(text: string): string[];
  close(): Promise<void>;
}

/**
 * Settings of every app: reconciliation never finds a stale job here, so the figures measure
 * the webhook path alone and a lost event cannot be repaired behind the test's back.
 */
const BASE_ENV = { RECONCILE_STALE_AFTER: '1d', RECONCILE_INTERVAL: '1d' };

export async function createWorld(options: WorldOptions): Promise<World> {
  const database = await createTestDatabase(options.label, { adminUrl: options.adminUrl });
  await migrate(database.url);
  const space = options.redisUrl
    ? {
        redisUrl: options.redisUrl,
        prefix: `{rp-chaos-${randomBytes(6).toString('hex')}}`,
        cleanup: async () => {},
      }
    : createTestQueuePrefix(options.label);
  const db = await Database.connect(database.url);
  // Through the apps' own connection helper, so a redis+sentinel:// URL works here too.
  const connection = redisConnection(space.redisUrl, { maxRetriesPerRequest: null });
  // Scenarios kill their own Redis: the reconnection errors are expected, the figures tell the rest.
  connection.on('error', () => {});
  const queue = new Queue(WEBHOOK_QUEUE, { connection, prefix: space.prefix });
  queue.on('error', () => {});
  const gitlab = await startFakeGitLab();
  const apps: AppProcess[] = [];

  const env = (overrides: Record<string, string> = {}) => ({
    DATABASE_URL: database.url,
    REDIS_URL: space.redisUrl,
    QUEUE_PREFIX: space.prefix,
    GITHUB_WEBHOOK_SECRET: GITHUB_SECRET,
    GITLAB_WEBHOOK_TOKEN,
    GITLAB_URL: gitlab.url,
    GITLAB_TOKEN: gitlab.token,
    ...BASE_ENV,
    ...options.env,
    ...overrides,
  });

  const count = async (...states: ('waiting' | 'active' | 'delayed' | 'prioritized' | 'failed')[]) => {
    const counts = await queue.getJobCounts(...states);
    return Object.values(counts).reduce((sum, n) => sum + n, 0);
  };

  return {
    databaseUrl: database.url,
    redisUrl: space.redisUrl,
    db,
    queue,
    gitlab,
    async start(name, startOptions = {}) {
      const app = await startApp(name, env(startOptions.env), { port: startOptions.port });
      apps.push(app);
      return app;
    },
    async prepare(plan) {
      for (const flavor of FLAVORS) {
        await db.addFlavor({
          platform: flavor.platform,
          name: flavor.name,
          labels: flavor.labels,
          priority: 0,
          isDisabled: false,
          minimumPressure: 0,
        });
      }
      for (const job of plan.jobs) {
        if (job.platform === 'gitlab') {
          gitlab.setJob(job.projectId, { id: job.id, tag_list: job.flavor.jobLabels });
        }
      }
    },
    backlog: () => count('waiting', 'active', 'delayed', 'prioritized'),
    deadLetters: () => count('failed'),
    logLines: (text) => apps.flatMap((app) => app.output().split('\n')).filter((line) => line.includes(text)),
    async close() {
      await Promise.all(apps.map((app) => app.stop()));
      await queue.close();
      connection.disconnect();
      await db.close();
      await gitlab.close();
      await space.cleanup();
      await database.drop();
    },
  };
}
