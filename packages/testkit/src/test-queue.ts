import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

/** The Redis tests use: TEST_REDIS_URL, else the local one. */
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface TestQueuePrefix {
  redisUrl: string;
  /** A BullMQ prefix no other test file uses, with a Cluster hash tag like production's. */
  prefix: string;
  /** Deletes every key under the prefix. */
  cleanup(): Promise<void>;
  /** How many connections to the test Redis carry this client name (`CLIENT LIST`). */
  connectionsNamed(name: string): Promise<number>;
}

export function createTestQueuePrefix(label = 'test'): TestQueuePrefix {
  const prefix = `{rp-test-${label}-${randomBytes(6).toString('hex')}}`;
  return {
    redisUrl: TEST_REDIS_URL,
    prefix,
    cleanup: () =>
      withRedis(async (redis) => {
        let cursor = '0';
        do {
          const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
          cursor = next;
          if (keys.length > 0) await redis.del(...keys);
        } while (cursor !== '0');
      }),
    connectionsNamed: (name) =>
      withRedis(async (redis) => {
        const list = (await redis.client('LIST')) as string;
        return list.split('\n').filter((line) => line.split(' ').includes(`name=${name}`)).length;
      }),
  };
}

async function withRedis<T>(work: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
  try {
    return await work(redis);
  } finally {
    redis.disconnect();
  }
}
