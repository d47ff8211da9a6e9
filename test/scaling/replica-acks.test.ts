import { randomUUID } from 'node:crypto';
import { queueJobId, WEBHOOK_QUEUE } from '@runner-planner/queue';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OwnRedis, startOwnRedis, waitForReplicas } from '../chaos/harness/redis-server.js';
import type { AppProcess } from '../support/apps.js';
import { useSystem } from '../support/system.js';
import { sendGitHub, workflowJobExamples } from '../support/webhooks.js';

// GATEWAY_REPLICA_ACKS: a 202 only once a replica has the queue job (Redis WAIT), so a failover
// to that replica cannot lose an acknowledged webhook. A primary and a replica of the test's own.

const system = useSystem('replica_acks');
let primary: OwnRedis;
let replica: OwnRedis;
let waiting: AppProcess;
let plain: AppProcess;

beforeAll(async () => {
  primary = await startOwnRedis({ appendonly: false });
  replica = await startOwnRedis({ appendonly: false, replicaOf: primary.url });
  await waitForReplicas(primary.url, 1);
  [waiting, plain] = await Promise.all([
    system.start('gateway', {
      REDIS_URL: primary.url,
      GATEWAY_REPLICA_ACKS: '1',
      GATEWAY_REPLICA_TIMEOUT: '500ms',
    }),
    system.start('gateway', { REDIS_URL: primary.url }),
  ]);
}, 60_000);
afterAll(async () => {
  await replica?.close();
  await primary?.close();
});

const example = () => workflowJobExamples().find((e) => e.action === 'queued');

async function onReplica(deliveryId: string): Promise<boolean> {
  const client = new Redis(replica.url);
  try {
    return (
      (await client.exists(`${system.prefix}:${WEBHOOK_QUEUE}:${queueJobId('github', deliveryId)}`)) === 1
    );
  } finally {
    client.disconnect();
  }
}

describe('GATEWAY_REPLICA_ACKS=1', () => {
  it('answers 202 once the replica has the job, and 503 when no replica acknowledges it in time', async () => {
    const first = randomUUID();
    const accepted = await sendGitHub(waiting.url, example(), { delivery: first });
    expect(accepted.status).toBe(202);
    // Acknowledged means already on the replica: no polling here.
    expect(await onReplica(first)).toBe(true);

    await replica.kill();
    await waitForReplicas(primary.url, 0);
    const second = randomUUID();
    const started = Date.now();
    const refused = await sendGitHub(waiting.url, { ...example(), marker: 'second' }, { delivery: second });
    expect(refused.status).toBe(503);
    expect(await refused.json()).toEqual({ error: 'queued but not yet replicated, retry later' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(450);
    expect(Date.now() - started).toBeLessThan(5_000);
    // Without the setting the same moment is a 202 that a failover now could lose.
    const unsafe = await sendGitHub(plain.url, { ...example(), marker: 'third' });
    expect(unsafe.status).toBe(202);

    // The replica back, the sender's redelivery of the refused webhook is acknowledged, once.
    await replica.start();
    await waitForReplicas(primary.url, 1);
    const redelivered = await sendGitHub(
      waiting.url,
      { ...example(), marker: 'second' },
      { delivery: second },
    );
    expect(redelivered.status).toBe(202);
    expect(await redelivered.json()).toEqual({ result: 'duplicate' });
    expect(await onReplica(second)).toBe(true);
  });
});
