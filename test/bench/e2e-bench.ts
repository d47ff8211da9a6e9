import { randomUUID } from 'node:crypto';
import {
  type Cleanup,
  type CpuUsage,
  formatCpu,
  type Latency,
  latency,
  nowMs,
  pidsOf,
  probeCpu,
  sleep,
} from '@runner-planner/bench-kit';
import { PRESSURE_CHANNEL } from '@runner-planner/database';
import { createScratchDatabase, sampleWaits, type WaitSamples } from '@runner-planner/database/testing';
import { WEBHOOK_QUEUE } from '@runner-planner/queue';
import { createTestQueuePrefix } from '@runner-planner/testkit';
import { Queue } from 'bullmq';
import pg from 'pg';
import { startApp } from '../support/apps.js';
import type { BenchConfig } from './config.js';
import { prepareDatabase } from './database.js';
import { type PacedOutcome, sendPaced } from './pacer.js';
import { BENCH_SECRET, type BenchEvent, benchFlavors, eventSequence, sign, webhookBody } from './payloads.js';
import { type PerRequest, redisCommandCalls, redisWorkPerRequest } from './redis-stats.js';

export interface E2eResult {
  perSecond: number;
  seconds: number;
  events: number;
  accepted: number;
  statusCodes: Record<string, number>;
  /** 202 → the event's effect visible in the job table. */
  visible: Latency;
  /** 202 → the `pressure_change` notification of the commit (queued and completed events). */
  notified: Latency;
  /** Events that should have notified but no notification for their flavor came after them. */
  notificationsMissing: number;
  /** Events left out: first asked about long after their answer, so their timing is unknown. */
  lateFirstPoll: number;
  notSeen: number;
  /** How late the sender sent (its own scheduling), p99. */
  sendLagP99Ms: number;
  /** 202 answer time, from when each request was due. */
  accept: Latency;
  failedQueueJobs: number;
  cpu: CpuUsage;
  /**
   * CPU milliseconds per accepted event of each process group, from the first request until
   * the last event's effect was seen (a backlog's draining included), and of the four that do
   * the work together (`all`: gateway, worker, Redis, PostgreSQL; not the bench runner).
   */
  cpuPerEvent: Record<string, number>;
  /** Redis commands per accepted event (those of BullMQ's Lua scripts included) and their time. */
  redisPerEvent: PerRequest;
  /** Mean active PostgreSQL backends of the run's database per wait event (`CPU`: not waiting). */
  waits: WaitSamples;
}

/** What the benchmark knows of one event as it goes. */
interface Tracked {
  event: BenchEvent;
  outcome?: PacedOutcome;
  /** When a poll first saw the event's effect (when that poll's answer arrived). */
  seenAt?: number;
  /** When the last poll that did not see it yet was sent: its commit came after this. */
  lastMissAt?: number;
  /** When the poll that saw it was sent. */
  seenRoundAt?: number;
  flavor?: string | null;
}

/** Has the row the effect of this event? `queued`: it exists; the others: their timestamp is set. */
const VISIBLE_SQL = `
  SELECT id, assigned_flavor, started_at IS NOT NULL AS started, completed_at IS NOT NULL AS completed
  FROM job WHERE platform = 'github' AND id = ANY($1::text[])`;

interface VisibleRow {
  id: string;
  assigned_flavor: string | null;
  started: boolean;
  completed: boolean;
}

function isVisible(event: BenchEvent, row: VisibleRow | undefined): boolean {
  if (row === undefined) return false;
  if (event.action === 'in_progress') return row.started;
  if (event.action === 'completed') return row.completed;
  return true;
}

/**
 * How many of the oldest unseen events each poll asks about. The worker takes events in queue
 * order (up to its concurrency at once), so newer ones are not seen before these; the bound
 * keeps each poll cheap when a backlog builds up.
 */
const POLL_WINDOW = 256;

/**
 * Polls the job table for the events answered 202 and not seen yet (the oldest `POLL_WINDOW`),
 * in one query per round, a round every `intervalMs` (or back to back when a query takes longer).
 */
function watchRows(client: pg.Client, tracked: Tracked[], intervalMs: number) {
  const pending = new Set<number>();
  let running = true;
  const loop = (async () => {
    while (running || pending.size > 0) {
      const roundStart = nowMs();
      const indexes: number[] = [];
      // Sets iterate in insertion order: the order the answers came, about the send order.
      for (const index of pending) {
        if (indexes.length === POLL_WINDOW) break;
        indexes.push(index);
      }
      if (indexes.length > 0) {
        const ids = [...new Set(indexes.map((index) => String(tracked[index]!.event.jobId)))];
        const { rows } = await client.query<VisibleRow>(VISIBLE_SQL, [ids]);
        const answeredAt = nowMs();
        const byId = new Map(rows.map((row) => [row.id, row]));
        for (const index of indexes) {
          const item = tracked[index]!;
          const row = byId.get(String(item.event.jobId));
          if (isVisible(item.event, row)) {
            item.seenAt = answeredAt;
            item.seenRoundAt = roundStart;
            item.flavor = row?.assigned_flavor ?? null;
            pending.delete(index);
          } else {
            item.lastMissAt = roundStart;
          }
        }
      }
      await sleep(Math.max(0, roundStart + intervalMs - nowMs()));
    }
  })();
  return {
    add: (index: number) => pending.add(index),
    pending: () => pending.size,
    /** Stops once everything added is seen, or gives up after `timeoutMs`. */
    async finish(timeoutMs: number) {
      running = false;
      const deadline = nowMs() + timeoutMs;
      while (pending.size > 0 && nowMs() < deadline) await sleep(50);
      pending.clear();
      await loop;
    },
  };
}

/**
 * The notification that reports an event's commit: the first received after the last poll that
 * did not see the event was sent (or, if none missed it, after the request was sent): the commit
 * came after that. A job write's signal names no flavor and is coalesced (one per few ms for
 * all of them), so a signal raised by an earlier commit may be taken: the figure errs early by
 * at most about one poll round.
 */
function notificationFor(item: Tracked, times: readonly number[]): number | undefined {
  if (item.flavor == null || item.outcome === undefined) return undefined;
  const after = item.lastMissAt ?? item.outcome.sentAt;
  let low = 0;
  let high = times.length;
  while (low < high) {
    const middle = (low + high) >> 1;
    if (times[middle]! < after) low = middle + 1;
    else high = middle;
  }
  return times[low];
}

/** The processes that do the work; the bench runner (sender, poller) is left out of `all`. */
const WORKING_PROCESSES = ['gateway', 'worker', 'redis', 'postgres'] as const;

function cpuPerEvent(cpu: CpuUsage, seconds: number, events: number): Record<string, number> {
  const perEvent: Record<string, number> = {};
  for (const [name, cores] of Object.entries(cpu.cores)) perEvent[name] = (cores * seconds * 1000) / events;
  perEvent.all = WORKING_PROCESSES.reduce((sum, name) => sum + (perEvent[name] ?? 0), 0);
  return perEvent;
}

export function formatPerEvent(perEvent: Record<string, number>): string {
  return Object.entries(perEvent)
    .map(([name, ms]) => `${name} ${ms.toFixed(2)} ms`)
    .join(', ');
}

/** One end-to-end run per rate of `config.e2e.rates`, each with its own database, queue and apps. */
export async function runE2eBench(
  config: BenchConfig,
  cleanup: Cleanup,
  log: (message: string) => void,
): Promise<E2eResult[]> {
  const results: E2eResult[] = [];
  for (const rate of config.e2e.rates) {
    try {
      results.push(await runE2eAtRate(config, rate, config.e2e.seconds, cleanup, log));
    } finally {
      await cleanup.runAll();
    }
  }
  return results;
}

/** One end-to-end run: `rate` events/s for `seconds`, with its own database, queue and apps. */
export async function runE2eAtRate(
  config: BenchConfig,
  rate: number,
  seconds: number,
  cleanup: Cleanup,
  log: (message: string) => void,
): Promise<E2eResult> {
  const { concurrency, pollMs, warmupSeconds } = config.e2e;
  const flavors = benchFlavors(config.flavors);
  const count = rate * seconds;
  // Sent first at the same rate and left out of every figure: a cold start (JIT, connections,
  // a backlog while the apps warm up) is not the steady state the run measures.
  const warmup = rate * warmupSeconds;
  const events = eventSequence({
    jobs: Math.ceil((warmup + count) / 3) + 200,
    events: warmup + count,
    flavors,
    jobsPerSecond: rate / 3,
    firstJobId: 4_300_000_000,
    seed: 3,
  });
  const epoch = Date.now();
  const requests = events.map((event) => {
    const body = webhookBody(event, epoch);
    return { body, signature: sign(body), delivery: randomUUID() };
  });

  const database = await createScratchDatabase(config.adminUrl, 'e2e');
  cleanup.add('e2e database', () => database.drop());
  await prepareDatabase(database.url, flavors);
  const space = createTestQueuePrefix('bench-e2e');
  cleanup.add('e2e queue keys', () => space.cleanup());
  const env = {
    DATABASE_URL: database.url,
    REDIS_URL: space.redisUrl,
    QUEUE_PREFIX: space.prefix,
    LOG_LEVEL: 'warn',
    ...config.appEnv,
  };
  const worker = await startApp('worker', { ...env, WORKER_CONCURRENCY: String(concurrency) });
  cleanup.add('e2e worker process', () => worker.stop());
  const gateway = await startApp('gateway', { ...env, GITHUB_WEBHOOK_SECRET: BENCH_SECRET });
  cleanup.add('e2e gateway process', () => gateway.stop());

  const notifications: number[] = [];
  const listener = new pg.Client({ connectionString: database.url });
  cleanup.add('e2e listen connection', () => listener.end());
  await listener.connect();
  listener.on('notification', () => {
    notifications.push(nowMs());
  });
  await listener.query(`LISTEN ${PRESSURE_CHANNEL}`);
  const poller = new pg.Client({ connectionString: database.url });
  cleanup.add('e2e poll connection', () => poller.end());
  await poller.connect();
  // The polls for rows are the benchmark's own work: their backend is counted apart.
  const pollerBackend = (await poller.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;

  const tracked: Tracked[] = events.map((event) => ({ event }));
  const rows = watchRows(poller, tracked, pollMs);
  log(
    `e2e: ${count} events at ${rate}/s (${seconds} s, after ${warmupSeconds} s of warm-up) through gateway and worker`,
  );
  const startMeasuring = async () => ({
    probe: await probeCpu({
      gateway: async () => [gateway.child.pid ?? -1],
      worker: async () => [worker.child.pid ?? -1],
      'bench runner': async () => [process.pid],
      redis: () => pidsOf('redis-server'),
      postgres: async () => (await pidsOf('postgres')).filter((pid) => pid !== pollerBackend),
      'PostgreSQL for the polls': async () => [pollerBackend],
    }),
    waits: await sampleWaits(database.url, database.name),
    redisBefore: await redisCommandCalls(space.redisUrl),
    startedAt: nowMs(),
  });
  let measuring: ReturnType<typeof startMeasuring> | undefined;
  const allOutcomes = await sendPaced({
    url: `${gateway.url}/webhooks/github`,
    count: warmup + count,
    perSecond: rate,
    request: (index) => requests[index]!,
    onStart: () => {
      measuring = sleep(warmupSeconds * 1000).then(startMeasuring);
    },
    onAnswer: (index, outcome) => {
      if (index < warmup) return;
      tracked[index]!.outcome = outcome;
      if (outcome.status === 202) rows.add(index);
    },
  });
  const outcomes = allOutcomes.slice(warmup);
  const { probe, waits, redisBefore, startedAt } = await measuring!;
  const backendWaits = await waits.stop();
  await rows.finish(120_000);
  const cpu = await probe.stop();
  const cpuSeconds = (nowMs() - startedAt) / 1000;
  const redisAfter = await redisCommandCalls(space.redisUrl);

  const queue = new Queue(WEBHOOK_QUEUE, { connection: { url: space.redisUrl }, prefix: space.prefix });
  cleanup.add('e2e queue client', () => queue.close());
  const failedQueueJobs = await queue.getJobCountByTypes('failed');

  const accepted = tracked.slice(warmup).filter((item) => item.outcome?.status === 202);
  const visible: number[] = [];
  const notified: number[] = [];
  let notificationsMissing = 0;
  let lateFirstPoll = 0;
  for (const item of accepted) {
    if (item.seenAt === undefined) continue;
    const ackAt = item.outcome!.answeredAt;
    // Seen by the first poll that asked, which came long after the answer (the event waited
    // outside the poll window): when it became visible is not known closely enough.
    if (item.lastMissAt === undefined && item.seenRoundAt! - ackAt > 3 * pollMs + 50) {
      lateFirstPoll++;
      continue;
    }
    visible.push(item.seenAt - ackAt);
    // A start does not change pressure: only queued (+1) and completed (−1) notify.
    if (item.event.action === 'in_progress') continue;
    const at = notificationFor(item, notifications);
    if (at === undefined) notificationsMissing++;
    else notified.push(at - ackAt);
  }
  const statusCodes: Record<string, number> = {};
  for (const outcome of outcomes) statusCodes[outcome.status] = (statusCodes[outcome.status] ?? 0) + 1;
  const result: E2eResult = {
    perSecond: rate,
    seconds,
    events: count,
    accepted: accepted.length,
    statusCodes,
    visible: latency(visible),
    notified: latency(notified),
    notificationsMissing,
    lateFirstPoll,
    notSeen: accepted.filter((item) => item.seenAt === undefined).length,
    sendLagP99Ms: latency(outcomes.map((outcome) => outcome.sentAt - outcome.scheduledAt)).p99Ms,
    accept: latency(outcomes.map((outcome) => outcome.answeredAt - outcome.scheduledAt)),
    failedQueueJobs,
    cpu,
    cpuPerEvent: cpuPerEvent(cpu, cpuSeconds, accepted.length),
    redisPerEvent: redisWorkPerRequest(redisBefore, redisAfter, accepted.length),
    waits: backendWaits,
  };
  log(
    `  visible p50 ${result.visible.p50Ms.toFixed(1)} ms p99 ${result.visible.p99Ms.toFixed(1)} ms; ` +
      `notified p50 ${result.notified.p50Ms.toFixed(1)} ms p99 ${result.notified.p99Ms.toFixed(1)} ms; ` +
      `CPU per event ${formatPerEvent(result.cpuPerEvent)}; cpu: ${formatCpu(cpu)}`,
  );
  return result;
}
