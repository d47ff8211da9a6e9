import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppProcess } from '../support/apps.js';
import { useSystem } from '../support/system.js';
import { workflowJobPayload } from '../support/webhooks.js';
import { type OwnCluster, startCluster } from './cluster.js';
import { deliverUntilAccepted } from './redeliver.js';

// Every app on REDIS_URL=redis+cluster://…: three masters with a replica each, of the test's
// own; the master holding the queue's slot SIGKILLed between two bursts, its replica promoted.

const system = useSystem('cluster');
const ADMIN_TOKEN = `planner_v0_${randomBytes(15).toString('base64url').slice(0, 20)}`;
let cluster: OwnCluster;
let gateway: AppProcess;
let planner: AppProcess;

beforeAll(async () => {
  cluster = await startCluster();
  // A 202 only once a replica has the webhook: the failover below must not lose one.
  const env = { REDIS_URL: cluster.url, ADMIN_TOKEN, GATEWAY_REPLICA_ACKS: '1' };
  [gateway, , planner] = await Promise.all([
    system.start('gateway', env),
    system.start('worker', env),
    system.start('planner', env),
  ]);
}, 90_000);
afterAll(async () => {
  await cluster?.close();
});

const queued = (id: number) => workflowJobPayload(id, 'queued', ['self-hosted', 'cluster']);

const deliver = (id: number) => deliverUntilAccepted(gateway.url, queued(id));

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
const pressure = async () =>
  (await (
    await fetch(`${planner.url}/api/v1/flavors/cluster/pressure`, { headers: admin })
  ).json()) as Record<string, number>;

describe('Redis Cluster', () => {
  it('records every webhook once across a failover of the master that holds the queue', async () => {
    const created = await fetch(`${planner.url}/api/v1/flavors/cluster`, {
      method: 'POST',
      headers: { ...admin, 'content-type': 'application/json' },
      body: JSON.stringify({ platform: 'github', labels: ['cluster'], priority: 1 }),
    });
    expect(created.status).toBe(201);

    for (let id = 1; id <= 20; id += 1) expect(await deliver(id)).toBe(0);
    await expect.poll(pressure, { timeout: 20_000 }).toEqual({ cluster: 20 });
    // The planner reads queue depths through the cluster too.
    const metrics = await (await fetch(`${planner.url}/metrics`, { headers: admin })).text();
    expect(metrics).toMatch(/^runner_planner_queue_jobs\{[^}]*queue="webhooks"[^}]*\} \d+$/m);

    const holder = await cluster.masterOf(`${system.prefix}:webhooks:id`);
    await holder.kill();
    await cluster.healthy();
    // The promoted replica has no replica of its own until the dead node comes back as one:
    // meanwhile GATEWAY_REPLICA_ACKS=1 refuses (503) rather than acknowledge an unreplicated webhook.
    const first = deliver(21);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    await holder.start();
    expect(await first).toBeGreaterThan(0);

    // Sent as soon as the master is gone: some meet the failover and are refused, then
    // redelivered under the same id.
    for (let id = 22; id <= 40; id += 1) await deliver(id);
    await expect.poll(pressure, { timeout: 30_000 }).toEqual({ cluster: 40 });
    const jobs = await system.db.listJobs('github');
    expect(jobs.map((job) => Number(job.id)).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 40 }, (_, i) => i + 1),
    );
  });
});
