import { randomUUID } from 'node:crypto';
import {
  type Cleanup,
  type CpuProbe,
  type CpuUsage,
  formatCpu,
  pidsOf,
  probeCpu,
} from '@runner-planner/bench-kit';
import { WEBHOOK_QUEUE } from '@runner-planner/queue';
import { createTestQueuePrefix } from '@runner-planner/testkit';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { freePort, startApp } from '../support/apps.js';
import type { BenchConfig } from './config.js';
import type { AutocannonInput, AutocannonOutput } from './load-autocannon.js';
import type { PacedInput, PacedOutput } from './load-paced.js';
import { BENCH_SECRET, sign, webhookBody } from './payloads.js';
import { runLoadGenerator, startScriptServer } from './processes.js';
import { type CommandStats, type PerRequest, redisCommandCalls, redisWorkPerRequest } from './redis-stats.js';

type SideName = 'gateway' | 'baseline';

interface Side {
  name: SideName;
  url: string;
  pid: number;
  /** Items the side has stored in Redis so far (queue jobs or list entries). */
  stored(): Promise<number>;
}

/** One load-generator run against one side, with what the machine did meanwhile. */
export interface Measured<T> {
  load: T;
  cpu: CpuUsage;
  redisPerRequest: PerRequest;
  /** Items in Redis after the run ÷ 2xx answers (warm-up included): 1 when every 202 stored one. */
  storedPerOk: number;
}

export interface GatewayResult {
  payloadBytes: number;
  connections: number;
  seconds: number;
  warmupSeconds: number;
  rate: number;
  maxThroughput: Record<SideName, Measured<AutocannonOutput>>;
  autocannonRate: Record<SideName, Measured<AutocannonOutput>>;
  pacedRate: Record<SideName, Measured<PacedOutput>>;
}

const PATH = '/webhooks/github';

async function checkAnswers(side: Side, body: string, signature: string): Promise<void> {
  const post = (signatureHeader: string) =>
    fetch(`${side.url}${PATH}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'workflow_job',
        'x-github-delivery': randomUUID(),
        'x-hub-signature-256': signatureHeader,
      },
      body,
    }).then((response) => response.status);
  const good = await post(signature);
  const bad = await post(`sha256=${'0'.repeat(64)}`);
  if (good !== 202 || bad !== 401) {
    throw new Error(
      `${side.name}: expected 202 for a signed request and 401 for a bad one, got ${good} and ${bad}`,
    );
  }
}

export async function runGatewayBench(
  config: BenchConfig,
  cleanup: Cleanup,
  log: (message: string) => void,
): Promise<GatewayResult> {
  const space = createTestQueuePrefix('bench-gateway');
  cleanup.add('gateway benchmark queue keys', () => space.cleanup());
  const redis = new Redis(space.redisUrl, { maxRetriesPerRequest: 1 });
  cleanup.add('gateway benchmark redis client', async () => redis.disconnect());
  const queue = new Queue(WEBHOOK_QUEUE, { connection: { url: space.redisUrl }, prefix: space.prefix });
  cleanup.add('gateway benchmark queue client', () => queue.close());

  // A realistic queued workflow_job for a self-hosted runner; every request sends it with its own
  // job id (so its own body and signature) and its own X-GitHub-Delivery.
  const marker = '4100000000';
  const body = webhookBody(
    {
      jobId: Number(marker),
      action: 'queued',
      labels: ['self-hosted', 'linux', 'x64', 'jammy', 'large'],
      at: 0,
    },
    Date.now(),
  );
  const signature = sign(body);
  const listKey = `${space.prefix}:baseline`;

  const gateway = await startApp('gateway', {
    REDIS_URL: space.redisUrl,
    QUEUE_PREFIX: space.prefix,
    GITHUB_WEBHOOK_SECRET: BENCH_SECRET,
    LOG_LEVEL: 'warn',
    ...config.appEnv,
  });
  cleanup.add('gateway process', () => gateway.stop());
  const baselinePort = await freePort();
  const baseline = await startScriptServer(
    './baseline-gateway.ts',
    {
      BASELINE_PORT: String(baselinePort),
      REDIS_URL: space.redisUrl,
      GITHUB_WEBHOOK_SECRET: BENCH_SECRET,
      BASELINE_LIST_KEY: listKey,
    },
    `http://127.0.0.1:${baselinePort}/health`,
  );
  cleanup.add('baseline gateway process', () => baseline.stop());

  const sides: Record<SideName, Side> = {
    baseline: {
      name: 'baseline',
      url: `http://127.0.0.1:${baselinePort}`,
      pid: baseline.pid,
      stored: () => redis.llen(listKey),
    },
    gateway: {
      name: 'gateway',
      url: gateway.url,
      pid: gateway.child.pid ?? -1,
      stored: () => queue.getJobCountByTypes('waiting', 'prioritized', 'delayed', 'paused'),
    },
  };
  for (const side of Object.values(sides)) await checkAnswers(side, body, signature);
  await space.cleanup();

  async function measure<T extends { ok: number; warmupOk: number; requests: number; cpuCores: number }>(
    side: Side,
    script: string,
    input: AutocannonInput | PacedInput,
  ): Promise<Measured<T>> {
    let probe: CpuProbe | undefined;
    let commandsBefore: Record<string, CommandStats> = {};
    const load = await runLoadGenerator<T>(script, input, cleanup, async () => {
      commandsBefore = await redisCommandCalls(space.redisUrl);
      probe = await probeCpu({
        [side.name]: async () => [side.pid],
        redis: () => pidsOf('redis-server'),
      });
    });
    const cpu = await probe!.stop();
    // The load generator has exited by now: it measured itself.
    cpu.cores['load generator'] = load.cpuCores;
    const redisPerRequest = redisWorkPerRequest(
      commandsBefore,
      await redisCommandCalls(space.redisUrl),
      load.requests,
    );
    const storedPerOk = (await side.stored()) / (load.ok + load.warmupOk);
    await space.cleanup();
    return { load, cpu, redisPerRequest, storedPerOk };
  }

  const { seconds, warmupSeconds, connections, rate } = config.gateway;
  const result: GatewayResult = {
    payloadBytes: Buffer.byteLength(body),
    connections,
    seconds,
    warmupSeconds,
    rate,
    maxThroughput: {} as GatewayResult['maxThroughput'],
    autocannonRate: {} as GatewayResult['autocannonRate'],
    pacedRate: {} as GatewayResult['pacedRate'],
  };
  const common = { body, marker, seconds, warmupSeconds };
  // Alternating order (B G, G B, B G) so neither side always runs on a warmer machine.
  for (const name of ['baseline', 'gateway'] as const) {
    const side = sides[name];
    log(`gateway: max throughput, ${name}, ${connections} connections, ${seconds} s`);
    const measured = await measure<AutocannonOutput>(side, './load-autocannon.ts', {
      ...common,
      url: `${side.url}${PATH}`,
      connections,
    } satisfies AutocannonInput);
    log(`  ${Math.round(measured.load.okPerSecond)} req/s; cpu: ${formatCpu(measured.cpu)}`);
    result.maxThroughput[name] = measured;
  }
  for (const name of ['gateway', 'baseline'] as const) {
    const side = sides[name];
    log(`gateway: ${rate} req/s (autocannon overallRate), ${name}, ${seconds} s`);
    const measured = await measure<AutocannonOutput>(side, './load-autocannon.ts', {
      ...common,
      url: `${side.url}${PATH}`,
      connections,
      overallRate: rate,
    } satisfies AutocannonInput);
    log(`  p50 ${measured.load.latency.p50Ms} ms, p99 ${measured.load.latency.p99Ms} ms`);
    result.autocannonRate[name] = measured;
  }
  for (const name of ['baseline', 'gateway'] as const) {
    const side = sides[name];
    log(`gateway: ${rate} req/s (paced, open loop), ${name}, ${seconds} s`);
    const measured = await measure<PacedOutput>(side, './load-paced.ts', {
      ...common,
      url: `${side.url}${PATH}`,
      perSecond: rate,
    } satisfies PacedInput);
    log(
      `  p50 ${measured.load.latency.p50Ms.toFixed(2)} ms, p99 ${measured.load.latency.p99Ms.toFixed(2)} ms`,
    );
    result.pacedRate[name] = measured;
  }
  return result;
}
