import { readFileSync } from 'node:fs';
import { Database, migrate } from '@runner-planner/database';
import { WEBHOOK_QUEUE } from '@runner-planner/queue';
import {
  createTestDatabase,
  createTestQueuePrefix,
  type FakeGitLab,
  startFakeGitLab,
} from '@runner-planner/testkit';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, expect } from 'vitest';
import { type AppName, type AppProcess, startApp } from './apps.js';
import { GITHUB_SECRET, GITLAB_WEBHOOK_TOKEN } from './webhooks.js';

/** One test file's world: its own database, queue prefix and fake GitLab, and the apps it starts. */
export interface System {
  databaseUrl: string;
  redisUrl: string;
  prefix: string;
  db: Database;
  queue: Queue;
  gitlab: FakeGitLab;
  /** The environment every app of this file gets. */
  env(overrides?: Record<string, string>): Record<string, string>;
  start(name: AppName, overrides?: Record<string, string>): Promise<AppProcess>;
  /** Waits until nothing is waiting, running or scheduled for a retry in the queue. */
  drained(timeoutMs?: number): Promise<void>;
}

export function useSystem(label: string): System {
  const system = {} as System;
  const apps: AppProcess[] = [];
  const space = createTestQueuePrefix(label);
  let drop = async () => {};

  beforeAll(async () => {
    const database = await createTestDatabase(label);
    drop = database.drop;
    await migrate(database.url);
    system.databaseUrl = database.url;
    system.redisUrl = space.redisUrl;
    system.prefix = space.prefix;
    system.db = await Database.connect(database.url);
    system.queue = new Queue(WEBHOOK_QUEUE, { connection: { url: space.redisUrl }, prefix: space.prefix });
    system.gitlab = await startFakeGitLab();
    system.env = (overrides = {}) => ({
      DATABASE_URL: system.databaseUrl,
      REDIS_URL: system.redisUrl,
      QUEUE_PREFIX: system.prefix,
      GITHUB_WEBHOOK_SECRET: GITHUB_SECRET,
      GITLAB_WEBHOOK_TOKEN,
      GITLAB_URL: system.gitlab.url,
      GITLAB_TOKEN: system.gitlab.token,
      ...overrides,
    });
    system.start = async (name, overrides) => {
      const app = await startApp(name, system.env(overrides));
      apps.push(app);
      return app;
    };
    system.drained = async (timeoutMs = 30_000) => {
      await expect
        .poll(
          async () => {
            const counts = await system.queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
            return Object.values(counts).reduce((sum, n) => sum + n, 0);
          },
          { timeout: timeoutMs, interval: 100 },
        )
        .toBe(0);
    };
  });

  afterAll(async () => {
    await Promise.all(apps.map((app) => app.stop()));
    await system.queue?.close();
    await system.db?.close();
    await system.gitlab?.close();
    await space.cleanup();
    await drop();
  });
  return system;
}

const gitlabFixture = new URL('../fixtures/gitlab/job-hook-docs-example.json', import.meta.url);

export function gitlabJobHook(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...JSON.parse(readFileSync(gitlabFixture, 'utf8')), ...overrides };
}
