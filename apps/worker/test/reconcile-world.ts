import {
  createTestQueuePrefix,
  type FakeGitHub,
  type FakeGitLab,
  startFakeGitHub,
  startFakeGitLab,
  type TestQueuePrefix,
} from '@runner-planner/testkit';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { afterAll, beforeAll } from 'vitest';
import {
  createGitHubClient,
  createReconcileMetrics,
  GitLabJobLookup,
  type ReconcileOptions,
} from '../src/index.js';
import type { RateLimitWait } from '../src/reconcile/index.js';
import { useDatabase, type WorkerFixture } from './support.js';

export const MINUTE = 60_000;

/** A test file's reconciliation world: its database and queue prefix, fake forges, a Redis client. */
export interface ReconcileWorld {
  fixture: WorkerFixture;
  queue: TestQueuePrefix;
  github: FakeGitHub;
  gitlab: FakeGitLab;
  redis: Redis;
  /** Reconcile options against this world; a fresh metrics registry and rate-limit log each time. */
  options(overrides?: Partial<ReconcileOptions>): {
    options: ReconcileOptions;
    registry: Registry;
    waits: RateLimitWait[];
  };
}

export function useReconcileWorld(label: string): ReconcileWorld {
  const fixture = useDatabase(`worker_${label}`);
  const queue = createTestQueuePrefix(label.replaceAll('_', '-'));
  const world = { fixture, queue } as ReconcileWorld;

  beforeAll(async () => {
    world.github = await startFakeGitHub();
    world.gitlab = await startFakeGitLab();
    world.redis = new Redis(queue.redisUrl);
  });
  afterAll(async () => {
    await world.github?.close();
    await world.gitlab?.close();
    world.redis?.disconnect();
    await queue.cleanup();
  });

  world.options = (overrides = {}) => {
    const registry = new Registry();
    const waits: RateLimitWait[] = [];
    const options: ReconcileOptions = {
      db: fixture.db,
      redis: world.redis,
      prefix: queue.prefix,
      metrics: createReconcileMetrics(registry),
      github: createGitHubClient({
        baseUrl: world.github.url,
        token: world.github.token,
        onRateLimit: (wait) => waits.push(wait),
      }),
      githubHooks: [],
      gitlab: new GitLabJobLookup({ url: world.gitlab.url, token: world.gitlab.token }),
      intervalMs: 5 * MINUTE,
      staleAfterMs: 15 * MINUTE,
      batchSize: 100,
      ...overrides,
    };
    return { options, registry, waits };
  };
  return world;
}
