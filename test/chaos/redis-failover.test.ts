import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, expect, it } from 'vitest';
import { type Sentinels, startSentinels } from '../scaling/sentinels.js';
import { expectEveryEventKeptOnce } from './harness/expectations.js';
import { type OwnRedis, startOwnRedis, waitForReplicas } from './harness/redis-server.js';
import { type FaultContext, runScenario, settings } from './harness/scenario.js';
import { createWorld } from './harness/world.js';

// The Redis primary SIGKILLed while the stream runs; Sentinel promotes a replica. Replication is
// asynchronous: without GATEWAY_REPLICA_ACKS a webhook answered 202 may exist on the dead
// primary alone. Full run: CHAOS_JOBS=3000 CHAOS_RATE=500 (pnpm test:chaos); the short run is
// left to test/scaling/sentinel.test.ts, which already kills a primary in pnpm test.

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** A primary with two replicas (append-only files on) and three Sentinels, of this scenario's own. */
async function topology() {
  const primary: OwnRedis = await startOwnRedis({ appendonly: true, appendfsync: 'everysec' });
  cleanups.push(() => primary.close());
  const replicas = await Promise.all(
    [1, 2].map(() => startOwnRedis({ appendonly: true, appendfsync: 'everysec', replicaOf: primary.url })),
  );
  for (const replica of replicas) cleanups.push(() => replica.close());
  await waitForReplicas(primary.url, 2);
  const sentinels: Sentinels = await startSentinels(primary.url);
  cleanups.push(() => sentinels.close());
  return { primary, sentinels };
}

async function failoverScenario(replicaAcks: number) {
  const { primary, sentinels } = await topology();
  const label = `chaos_failover_acks_${replicaAcks}`;
  const world = await createWorld({
    label,
    redisUrl: sentinels.url,
    env: { GATEWAY_REPLICA_ACKS: String(replicaAcks), GATEWAY_REPLICA_TIMEOUT: '1s' },
  });
  cleanups.push(() => world.close());
  const gateway = await world.start('gateway');
  await world.start('worker');
  const inject = async (fault: FaultContext) => {
    await fault.untilSent(0.4);
    const before = await sentinels.master();
    await primary.kill();
    fault.log(`primary ${before} SIGKILLed`);
    for (;;) {
      const now = await sentinels.master().catch(() => before);
      if (now !== before) {
        fault.log(`Sentinel promoted ${now}`);
        break;
      }
      await sleep(100);
    }
  };
  return runScenario({
    name: `redis-failover-acks-${replicaAcks}`,
    title: `Redis primary SIGKILLed, Sentinel failover, GATEWAY_REPLICA_ACKS=${replicaAcks}`,
    world,
    gateways: () => [gateway.url],
    inject,
    // Without acknowledgements a loss is possible, not certain: measured, not waited for.
    expectsLoss: replicaAcks === 0,
  });
}

it.runIf(settings.full)(
  `primary SIGKILLed during ${settings.jobs} jobs at ${settings.rate} events/s, replica acknowledgement on: nothing lost`,
  async () => {
    const figures = await failoverScenario(1);
    expectEveryEventKeptOnce(figures);
  },
);

it.runIf(settings.full)(
  `the same failover with replica acknowledgement off: what was acknowledged and lost is reported`,
  async () => {
    const figures = await failoverScenario(0);
    expect(figures.send.notAccepted).toBe(0);
    expect(figures.duplicated).toBe(0);
    // Lost events can only be those the primary acknowledged in its last moments.
    expect(figures.lost).toBeLessThanOrEqual(settings.rate * 2);
  },
);
