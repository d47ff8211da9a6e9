import { type Cleanup, formatCpu, pidsOf, probeCpu } from '@runner-planner/bench-kit';
import { startOwnRedis, waitForReplicas } from '../chaos/harness/redis-server.js';
import { startApp } from '../support/apps.js';
import type { BenchConfig } from './config.js';
import type { AutocannonInput, AutocannonOutput } from './load-autocannon.js';
import type { PacedInput, PacedOutput } from './load-paced.js';
import { BENCH_SECRET, webhookBody } from './payloads.js';
import { runLoadGenerator } from './processes.js';

/** One gateway setting measured: as fast as it goes, and at the paced rate. */
export interface ReplicaAcksSide {
  replicaAcks: number;
  maxThroughput: AutocannonOutput;
  paced: PacedOutput;
  cpu: string;
}

export interface ReplicaAcksResult {
  rate: number;
  connections: number;
  seconds: number;
  sides: ReplicaAcksSide[];
}

const PATH = '/webhooks/github';

/**
 * The cost of GATEWAY_REPLICA_ACKS: a primary with one replica of the benchmark's own (append-only
 * files on, loopback), one gateway per setting on it, each measured with the same loads.
 */
export async function runReplicaAcksBench(
  config: BenchConfig,
  cleanup: Cleanup,
  log: (message: string) => void,
): Promise<ReplicaAcksResult> {
  const primary = await startOwnRedis({ appendonly: true, appendfsync: 'everysec' });
  cleanup.add('replica-acks primary', () => primary.close());
  const replica = await startOwnRedis({ appendonly: true, appendfsync: 'everysec', replicaOf: primary.url });
  cleanup.add('replica-acks replica', () => replica.close());
  await waitForReplicas(primary.url, 1);

  const marker = '4200000000';
  const body = webhookBody(
    { jobId: Number(marker), action: 'queued', labels: ['self-hosted', 'linux', 'x64'], at: 0 },
    Date.now(),
  );
  const { seconds, warmupSeconds, connections, rate } = config.gateway;
  const sides: ReplicaAcksSide[] = [];
  for (const replicaAcks of [0, 1]) {
    const gateway = await startApp('gateway', {
      REDIS_URL: primary.url,
      QUEUE_PREFIX: `{bench-acks-${replicaAcks}}`,
      GITHUB_WEBHOOK_SECRET: BENCH_SECRET,
      GATEWAY_REPLICA_ACKS: String(replicaAcks),
      GATEWAY_REPLICA_TIMEOUT: '1s',
      LOG_LEVEL: 'warn',
      ...config.appEnv,
    });
    const stop = cleanup.add(`gateway with GATEWAY_REPLICA_ACKS=${replicaAcks}`, () => gateway.stop());
    const common = { body, marker, seconds, warmupSeconds, url: `${gateway.url}${PATH}` };
    log(`replica acks ${replicaAcks}: max throughput, ${connections} connections, ${seconds} s`);
    const probe = await probeCpu({
      gateway: async () => [gateway.child.pid ?? -1],
      redis: () => pidsOf('redis-server'),
    });
    const maxThroughput = await runLoadGenerator<AutocannonOutput>(
      './load-autocannon.ts',
      { ...common, connections } satisfies AutocannonInput,
      cleanup,
    );
    const cpu = formatCpu(await probe.stop());
    log(`  ${Math.round(maxThroughput.okPerSecond)} req/s; cpu: ${cpu}`);
    log(`replica acks ${replicaAcks}: ${rate} req/s paced, ${seconds} s`);
    const paced = await runLoadGenerator<PacedOutput>(
      './load-paced.ts',
      { ...common, perSecond: rate } satisfies PacedInput,
      cleanup,
    );
    log(`  p50 ${paced.latency.p50Ms.toFixed(2)} ms, p99 ${paced.latency.p99Ms.toFixed(2)} ms`);
    sides.push({ replicaAcks, maxThroughput, paced, cpu });
    await stop();
  }
  return { rate, connections, seconds, sides };
}
