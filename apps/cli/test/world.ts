import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createTestDatabase,
  createTestQueuePrefix,
  type TestDatabase,
  type TestQueuePrefix,
} from '@runner-planner/testkit';
import { afterAll, beforeAll, expect } from 'vitest';
import { assertBuilt, type CliResult, cleanEnv, runCli } from './support.js';

/** A test file's own migrated database, queue prefix and empty working directory for the CLI. */
export interface CliWorld {
  database: TestDatabase;
  queue: TestQueuePrefix;
  /** Empty: no `.data/runtime.json` of a running `start` is picked up. */
  cwd: string;
  /** DATABASE_URL, REDIS_URL and QUEUE_PREFIX of this world, nothing else inherited that matters. */
  env: NodeJS.ProcessEnv;
  cli(...args: string[]): Promise<CliResult>;
}

export function useCliWorld(label: string): CliWorld {
  const world = {} as CliWorld;
  world.cli = (...args) => runCli(args, { env: world.env, cwd: world.cwd });

  beforeAll(async () => {
    assertBuilt();
    world.database = await createTestDatabase(label);
    world.queue = createTestQueuePrefix(label.replaceAll('_', '-'));
    world.cwd = await mkdtemp(join(tmpdir(), `rp-${label.replaceAll('_', '-')}-`));
    world.env = cleanEnv({
      DATABASE_URL: world.database.url,
      REDIS_URL: world.queue.redisUrl,
      QUEUE_PREFIX: world.queue.prefix,
    });
    expect((await world.cli('migrate')).code).toBe(0);
  });

  afterAll(async () => {
    await world.database?.drop();
    await world.queue?.cleanup();
    if (world.cwd) await rm(world.cwd, { recursive: true, force: true });
  });
  return world;
}
