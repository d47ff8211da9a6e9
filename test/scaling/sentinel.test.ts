import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OwnRedis, startOwnRedis, waitForReplicas } from '../chaos/harness/redis-server.js';
import type { AppProcess } from '../support/apps.js';
import { useSystem } from '../support/system.js';
import { workflowJobPayload } from '../support/webhooks.js';
import { deliverUntilAccepted } from './redeliver.js';
import { type Sentinels, startSentinels } from './sentinels.js';

// Every app on REDIS_URL=redis+sentinel://…: a primary, two replicas and three Sentinels of the
// test's own; the primary SIGKILLed between two bursts, a replica promoted.

const system = useSystem('sentinel');
const ADMIN_TOKEN = `planner_v0_${randomBytes(15).toString('base64url').slice(0, 20)}`;
let primary: OwnRedis;
let replica: OwnRedis;
let second: OwnRedis;
let sentinels: Sentinels;
let gateway: AppProcess;
let planner: AppProcess;

beforeAll(async () => {
  primary = await startOwnRedis({ appendonly: true });
  // Two replicas: after the failover one is promoted and the other follows it, so a replica is
  // still there to acknowledge webhooks.
  replica = await startOwnRedis({ appendonly: true, replicaOf: primary.url });
  second = await startOwnRedis({ appendonly: true, replicaOf: primary.url });
  await waitForReplicas(primary.url, 2);
  sentinels = await startSentinels(primary.url);
  // A 202 only once the replica has the webhook: the failover below must not lose one.
  const env = { REDIS_URL: sentinels.url, ADMIN_TOKEN, GATEWAY_REPLICA_ACKS: '1' };
  [gateway, , planner] = await Promise.all([
    system.start('gateway', env),
    system.start('worker', env),
    system.start('planner', env),
  ]);
}, 60_000);
afterAll(async () => {
  await sentinels?.close();
  await second?.close();
  await replica?.close();
  await primary?.close();
});

const queued = (id: number) => workflowJobPayload(id, 'queued', ['self-hosted', 'sentinel']);

const deliver = (id: number) => deliverUntilAccepted(gateway.url, queued(id));

const pressure = async () =>
  (await (
    await fetch(`${planner.url}/api/v1/flavors/sentinel/pressure`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    })
  ).json()) as Record<string, number>;

describe('Redis through Sentinel', () => {
  it('records every webhook once across a failover of the primary', async () => {
    const created = await fetch(`${planner.url}/api/v1/flavors/sentinel`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ platform: 'github', labels: ['sentinel'], priority: 1 }),
    });
    expect(created.status).toBe(201);

    for (let id = 1; id <= 20; id += 1) expect(await deliver(id)).toBe(0);
    await expect.poll(pressure, { timeout: 20_000 }).toEqual({ sentinel: 20 });

    const before = await sentinels.master();
    await primary.kill();
    await expect.poll(() => sentinels.master(), { timeout: 30_000, interval: 200 }).not.toBe(before);
    const promoted = [replica, second].map((r) => `127.0.0.1:${new URL(r.url).port}`);
    expect(promoted).toContain(await sentinels.master());

    // Sent as soon as the old primary is gone: some meet the failover and are refused, then
    // redelivered under the same id.
    for (let id = 21; id <= 40; id += 1) await deliver(id);
    await expect.poll(pressure, { timeout: 30_000 }).toEqual({ sentinel: 40 });
    const jobs = await system.db.listJobs('github');
    expect(jobs.map((job) => Number(job.id)).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 40 }, (_, i) => i + 1),
    );
  });
});
