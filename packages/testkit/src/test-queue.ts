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
}

export function createTestQueuePrefix(label = 'test'): TestQueuePrefix {
  const prefix = `{rp-test-${label}-${randomBytes(6).toString('hex')}}`;
  return {
    redisUrl: TEST_REDIS_URL,
    prefix,
    async cleanup() {
      const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
      try {
        let cursor = '0';
        do {
          const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
          cursor = next;
          if (keys.length > 0) await redis.del(...keys);
        } while (cursor !== '0');
      } finally {
        redis.disconnect();
      }
    },
  };
}
