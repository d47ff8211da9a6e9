import { createTestQueuePrefix } from '@runner-planner/testkit';
import { Queue } from 'bullmq';
import { afterAll, describe, expect, it } from 'vitest';
import { closeQueuesAndConnection, producerConnection, whenConnected } from '../src/index.js';

const space = createTestQueuePrefix('connection');
afterAll(() => space.cleanup());

function queuesOn(connection: ReturnType<typeof producerConnection>, count: number): Queue[] {
  return Array.from({ length: count }, (_, i) => {
    const queue = new Queue(`q${i}`, { connection, prefix: space.prefix });
    queue.on('error', () => {});
    return queue;
  });
}

describe('closeQueuesAndConnection', () => {
  it('lets commands in flight finish', async () => {
    const connection = producerConnection(space.redisUrl, { enableOfflineQueue: true });
    expect(await whenConnected(connection)).toBe(true);
    const key = `${space.prefix}:value`;
    await connection.set(key, 'kept');
    const inFlight = connection.get(key);
    await closeQueuesAndConnection([], connection);
    await expect(inFlight).resolves.toBe('kept');
  });

  it('returns within its timeouts when Redis does not answer, instead of waiting for it', async () => {
    const unreachable = producerConnection('redis://127.0.0.1:1', { enableOfflineQueue: true });
    unreachable.on('error', () => {});
    const started = performance.now();
    await closeQueuesAndConnection(queuesOn(unreachable, 1), unreachable, 300);
    // One timeout for the queues, one for QUIT, plus the queues' own close.
    expect(performance.now() - started).toBeLessThan(1_500);
  });
});
