import { type Cleanup, type CpuUsage, formatCpu, pidsOf, probeCpu, sleep } from '@runner-planner/bench-kit';
import type { Flavor } from '@runner-planner/core';
import { decodeWebhookBody, parseGitHubWorkflowJob } from '@runner-planner/core';
import { Database } from '@runner-planner/database';
import {
  createScratchDatabase,
  formatWaits,
  type ScratchDatabase,
  sampleWaits,
  type WaitSamples,
} from '@runner-planner/database/testing';
import { createWebhookProducer, type Envelope, WEBHOOK_QUEUE } from '@runner-planner/queue';
import { createTestQueuePrefix } from '@runner-planner/testkit';
import { applyJobEvent } from '@runner-planner/worker';
import { Queue } from 'bullmq';
import { startApp } from '../support/apps.js';
import type { BenchConfig } from './config.js';
import { type JobTableSummary, prepareDatabase, summarizeJobs } from './database.js';
import { benchFlavors, envelopeOf, eventSequence, webhookBody } from './payloads.js';

export interface WorkerSideResult {
  eventsPerSecond: number;
  /** Events the rate is computed over, and the seconds they took. */
  events: number;
  seconds: number;
  cpu: CpuUsage;
  /** Mean active PostgreSQL backends of the run's database per wait event (`CPU`: not waiting). */
  waits: WaitSamples;
  jobs: JobTableSummary;
}

export interface WorkerResult {
  events: number;
  jobs: number;
  flavors: number;
  concurrency: number;
  actions: Record<string, number>;
  /** Envelopes/s the producer queued while pre-filling (informational). */
  prefillPerSecond: number;
  worker: WorkerSideResult & { failed: number };
  baseline: WorkerSideResult & { errors: number };
  /** Every job on one flavor, drained by 1, 2… worker processes (BENCH_WORKER_PROCESSES). */
  hotFlavor: ScaleOutRun[];
}

export interface ScaleOutRun extends WorkerSideResult {
  processes: number;
  failed: number;
}

/** The pool the worker app gives itself for a concurrency (apps/worker/src/start.ts). */
const poolSizeFor = (concurrency: number) => Math.max(4, Math.min(concurrency, 20));

/** The same parse and the same database calls as the worker, with no queue in between. */
async function applyDirectly(
  database: ScratchDatabase,
  envelopes: readonly Envelope[],
  concurrency: number,
): Promise<{ seconds: number; errors: number; cpu: CpuUsage; waits: WaitSamples }> {
  const url = database.url;
  const db = await Database.connect(url, { poolSize: poolSizeFor(concurrency) });
  try {
    let next = 0;
    let errors = 0;
    const probe = await probeCpu({
      'bench runner': async () => [process.pid],
      postgres: () => pidsOf('postgres'),
    });
    const waits = await sampleWaits(url, database.name);
    const started = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        for (let index = next++; index < envelopes.length; index = next++) {
          const envelope = envelopes[index]!;
          try {
            const parsed = parseGitHubWorkflowJob(
              decodeWebhookBody(envelope.body, envelope.headers['content-type']),
              { selfHostedOnly: true, receivedAt: new Date(envelope.receivedAt) },
            );
            if (parsed.kind !== 'job') throw new Error(`ignored: ${parsed.reason}`);
            const event = parsed.event;
            await applyJobEvent(db, event, async () => (event.platform === 'github' ? event.labels : []));
          } catch {
            errors++;
          }
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    return { seconds, errors, cpu: await probe.stop(), waits: await waits.stop() };
  } finally {
    await db.close();
  }
}

export async function runWorkerBench(
  config: BenchConfig,
  cleanup: Cleanup,
  log: (message: string) => void,
): Promise<WorkerResult> {
  const { events: eventCount, jobs, concurrency } = config.worker;
  const flavors = benchFlavors(config.flavors);
  const events = eventSequence({
    jobs,
    events: eventCount,
    flavors,
    jobsPerSecond: 500 / 3,
    firstJobId: 4_200_000_000,
    seed: 2,
  });
  const epoch = Date.now() - 3_600_000;
  const envelopes = events.map((event) => envelopeOf(webhookBody(event, epoch)));
  const actions: Record<string, number> = {};
  for (const event of events) actions[event.action] = (actions[event.action] ?? 0) + 1;

  // Baseline first: a fresh database, the events applied in the same order and concurrency.
  const baselineDb = await createScratchDatabase(config.adminUrl, 'worker_baseline');
  cleanup.add('worker baseline database', () => baselineDb.drop());
  await prepareDatabase(baselineDb.url, flavors);
  log(`worker: baseline, ${envelopes.length} events applied directly, concurrency ${concurrency}`);
  const direct = await applyDirectly(baselineDb, envelopes, concurrency);
  const baseline = {
    eventsPerSecond: envelopes.length / direct.seconds,
    events: envelopes.length,
    seconds: direct.seconds,
    cpu: direct.cpu,
    waits: direct.waits,
    errors: direct.errors,
    jobs: await summarizeJobs(baselineDb.url),
  };
  log(`  ${Math.round(baseline.eventsPerSecond)} events/s; cpu: ${formatCpu(direct.cpu)}`);
  log(`  backends: ${formatWaits(direct.waits)}`);

  const worker = await drainQueue(config, cleanup, log, {
    envelopes,
    flavors,
    processes: 1,
    label: 'worker',
  });

  // Scaling out on one hot flavor: every job on one flavor, the same events, N worker processes.
  const hotFlavors = benchFlavors(1);
  const hotEnvelopes = eventSequence({
    jobs,
    events: eventCount,
    flavors: hotFlavors,
    jobsPerSecond: 500 / 3,
    firstJobId: 4_300_000_000,
    seed: 3,
  }).map((event) => envelopeOf(webhookBody(event, epoch)));
  const hotFlavor: ScaleOutRun[] = [];
  for (const processes of config.worker.processes) {
    const run = await drainQueue(config, cleanup, log, {
      envelopes: hotEnvelopes,
      flavors: hotFlavors,
      processes,
      label: `worker_hot_${processes}`,
    });
    hotFlavor.push({ processes, ...run });
  }
  return {
    events: envelopes.length,
    jobs,
    flavors: flavors.length,
    concurrency,
    actions,
    prefillPerSecond: worker.prefillPerSecond,
    worker,
    baseline,
    hotFlavor,
  };
}

interface DrainOptions {
  envelopes: readonly Envelope[];
  flavors: Flavor[];
  processes: number;
  /** Names the scratch database and queue prefix of the run. */
  label: string;
}

/**
 * Pre-fills a fresh queue with `envelopes`, starts `processes` worker processes on a fresh
 * database and measures how fast they drain it. The clock starts at the first poll that sees
 * fewer jobs left than were queued (so process start-up and migration are left out) and stops
 * when none is left; polled every 20 ms.
 */
async function drainQueue(
  config: BenchConfig,
  cleanup: Cleanup,
  log: (message: string) => void,
  options: DrainOptions,
): Promise<WorkerSideResult & { failed: number; prefillPerSecond: number }> {
  const { envelopes, processes, label } = options;
  const { concurrency } = config.worker;
  const workerDb = await createScratchDatabase(config.adminUrl, label);
  cleanup.add(`${label} database`, () => workerDb.drop());
  await prepareDatabase(workerDb.url, options.flavors);
  const space = createTestQueuePrefix(`bench-${label}`);
  cleanup.add(`${label} queue keys`, () => space.cleanup());

  log(`${label}: pre-filling the queue with ${envelopes.length} envelopes`);
  const producer = createWebhookProducer({ redisUrl: space.redisUrl, prefix: space.prefix });
  const closeProducer = cleanup.add(`${label} producer`, () => producer.close());
  if (!(await producer.isReady())) throw new Error(`Redis at ${space.redisUrl} is not reachable`);
  const prefillStart = performance.now();
  let nextEnvelope = 0;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      for (let index = nextEnvelope++; index < envelopes.length; index = nextEnvelope++) {
        const result = await producer.enqueue(envelopes[index]!);
        if (result !== 'enqueued') throw new Error(`envelope ${index} was ${result}, not enqueued`);
      }
    }),
  );
  const prefillPerSecond = envelopes.length / ((performance.now() - prefillStart) / 1000);
  await closeProducer();

  const queue = new Queue(WEBHOOK_QUEUE, { connection: { url: space.redisUrl }, prefix: space.prefix });
  cleanup.add(`${label} queue client`, () => queue.close());
  const remaining = async () =>
    queue.getJobCountByTypes('waiting', 'active', 'delayed', 'prioritized', 'paused', 'waiting-children');
  const total = await remaining();
  if (total !== envelopes.length) throw new Error(`queue holds ${total} jobs, expected ${envelopes.length}`);

  log(
    `${label}: ${processes} worker process(es), WORKER_CONCURRENCY=${concurrency} each, draining the queue`,
  );
  const starting = Promise.all(
    Array.from({ length: processes }, () =>
      startApp('worker', {
        DATABASE_URL: workerDb.url,
        REDIS_URL: space.redisUrl,
        QUEUE_PREFIX: space.prefix,
        WORKER_CONCURRENCY: String(concurrency),
        LOG_LEVEL: 'warn',
        ...config.appEnv,
      }),
    ),
  );
  cleanup.add(`${label} worker processes`, async () => {
    await Promise.all((await starting).map((app) => app.stop()));
  });
  // A worker that cannot start ends the benchmark with its output (and the cleanup runs),
  // instead of an unhandled rejection while the queue is polled.
  let startFailure: unknown;
  starting.catch((error: unknown) => {
    startFailure = error;
  });
  let first: { at: number; left: number } | undefined;
  let probe: Awaited<ReturnType<typeof probeCpu>> | undefined;
  let waits: Awaited<ReturnType<typeof sampleWaits>> | undefined;
  const deadline = performance.now() + 600_000;
  for (;;) {
    if (startFailure !== undefined) throw startFailure;
    const left = await remaining();
    const at = performance.now();
    if (first === undefined && left < total) {
      first = { at, left };
      const apps = await starting;
      probe = await probeCpu({
        worker: async () => apps.map((app) => app.child.pid ?? -1),
        redis: () => pidsOf('redis-server'),
        postgres: () => pidsOf('postgres'),
      });
      waits = await sampleWaits(workerDb.url, workerDb.name);
    }
    if (left === 0) break;
    if (at > deadline) throw new Error(`workers did not drain the queue in 10 minutes (${left} left)`);
    await sleep(20);
  }
  const end = performance.now();
  const cpu = await probe!.stop();
  const backendWaits = await waits!.stop();
  const seconds = (end - first!.at) / 1000;
  const failed = await queue.getJobCountByTypes('failed');
  await Promise.all((await starting).map((app) => app.stop()));
  const result = {
    eventsPerSecond: first!.left / seconds,
    events: first!.left,
    seconds,
    cpu,
    waits: backendWaits,
    failed,
    prefillPerSecond,
    jobs: await summarizeJobs(workerDb.url),
  };
  log(`  ${Math.round(result.eventsPerSecond)} events/s; cpu: ${formatCpu(cpu)}`);
  log(`  backends: ${formatWaits(backendWaits)}`);
  return result;
}
