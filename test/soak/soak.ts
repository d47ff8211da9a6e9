import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { setTimeout } from 'node:timers/promises';
import type { Cleanup } from '@runner-planner/bench-kit';
import { latency, nowMs, pidsOf, probeCpu, sleep } from '@runner-planner/bench-kit';
import type { Flavor } from '@runner-planner/core';
import { openTestSql } from '@runner-planner/database/testing';
import { PlannerClient } from '@runner-planner/pressure';
import { WEBHOOK_QUEUE } from '@runner-planner/queue';
import { createTestQueuePrefix } from '@runner-planner/testkit';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { prepareDatabase } from '../bench/database.js';
import { BENCH_SECRET, type BenchEvent, benchFlavors, eventSequence } from '../bench/payloads.js';
import { type AppName, type AppProcess, startApp } from '../support/apps.js';
import { writeChart } from './chart.js';
import { sendSteadily } from './load.js';
import { readMemory } from './memory.js';
import { APPS, mb, type Sample, samplesCsv } from './samples.js';
import { PressureStreams } from './streams.js';
import {
  memoryTrend,
  type SoakSettings,
  type SoakSummary,
  summaryMarkdown,
  windowLatency,
} from './summary.js';
import { slopePerHourOverSecondHalf } from './trend.js';
import { verifyJobs } from './verify.js';
import { VisibilityWatcher } from './visibility.js';

export interface SoakDatabase {
  url: string;
  drop(): Promise<void>;
}

export interface SoakOptions extends SoakSettings {
  /** Longest wait, once the load stops, for the backlog to drain. */
  drainTimeoutSeconds: number;
  /** Round of the visibility poll (the latency figures' resolution). */
  pollMs: number;
  /** Where the samples (JSON, CSV), the summary (markdown) and the chart's SVG go. */
  resultsDir: string;
  /** Where the PNG chart goes; undefined: no chart. */
  chartPath?: string;
  /** A fresh database of the run's own; dropped at the end. */
  createDatabase: () => Promise<SoakDatabase>;
  log: (message: string) => void;
}

export interface SoakResult {
  summary: SoakSummary;
  samples: Sample[];
  files: { json: string; csv: string; markdown: string; svg?: string; png?: string };
}

/** Where the load's job ids start: far from the ids other suites use. */
export const FIRST_JOB_ID = 5_100_000_000;
/** At most this long is compared as the "first" and "last" minutes of latency. */
const LATENCY_WINDOW_SECONDS = 300;
/** A sample over less than this would give rates of a few events' noise. */
const MIN_SAMPLE_MS = 1_000;
/** The queue states that still hold work for the worker. */
const UNFINISHED = ['waiting', 'active', 'delayed', 'prioritized'] as const;

/** Random, in the planner's `ADMIN_TOKEN` format. */
const adminToken = () => `planner_v0_${randomBytes(15).toString('base64url')}`;

/** An accumulator for the figures of the sample interval under way. */
function emptyInterval() {
  return {
    sent: 0,
    accepted: 0,
    rejected: 0,
    latencies: [] as number[],
    answers: [] as number[],
    lags: [] as number[],
  };
}

/**
 * Every job of the run, each queued, started and completed (the same for the same settings): as
 * many jobs as make `rate × duration` events, the last job's events rounding up.
 */
export function soakEvents(
  options: Pick<SoakSettings, 'rate' | 'durationSeconds'>,
  flavors: readonly Flavor[],
): BenchEvent[] {
  const jobs = Math.ceil((options.rate * options.durationSeconds) / 3);
  return eventSequence({
    jobs,
    events: jobs * 3,
    flavors,
    jobsPerSecond: options.rate / 3,
    firstJobId: FIRST_JOB_ID,
    seed: 7,
  });
}

/**
 * The soak: gateway, worker and planner as separate processes, pressure streams open, signed
 * `workflow_job` webhooks at a steady rate (each job queued, started, completed), a sample of
 * memory, latency and backlog every interval, then the database checked against everything
 * the gateway accepted. Every process, database and queue key it makes is registered with
 * `cleanup`, which the caller runs.
 */
export async function runSoak(options: SoakOptions, cleanup: Cleanup): Promise<SoakResult> {
  const { log } = options;
  const startedAt = new Date();
  const flavors = benchFlavors(options.flavors);
  const events = soakEvents(options, flavors);
  const jobs = events.length / 3;

  const database = await options.createDatabase();
  cleanup.add('soak database', () => database.drop());
  await prepareDatabase(database.url, []);
  const space = createTestQueuePrefix('soak');
  cleanup.add('soak queue keys', () => space.cleanup());

  const token = adminToken();
  const env = {
    DATABASE_URL: database.url,
    REDIS_URL: space.redisUrl,
    QUEUE_PREFIX: space.prefix,
    LOG_LEVEL: 'warn',
  };
  const apps = {} as Record<AppName, AppProcess>;
  const start = async (name: AppName, extra: Record<string, string>) => {
    const app = await startApp(name, { ...env, ...extra });
    cleanup.add(`soak ${name} process`, () => app.stop());
    apps[name] = app;
  };
  await start('worker', { WORKER_CONCURRENCY: String(options.workerConcurrency) });
  await start('gateway', { GITHUB_WEBHOOK_SECRET: BENCH_SECRET });
  await start('planner', { ADMIN_TOKEN: token });

  // Flavors and a token through the planner's API, as an operator would make them.
  const admin = new PlannerClient({ baseUrl: apps.planner.url, token });
  for (const flavor of flavors) await admin.createFlavor(flavor);
  const created = await admin.createToken('soak-autoscaler');
  const autoscaler = new PlannerClient({ baseUrl: apps.planner.url, token: created.token });
  const streamed = ['_', ...flavors.map((flavor) => flavor.name)].slice(0, options.streams);
  const streams = new PressureStreams(autoscaler, streamed);
  cleanup.add('soak pressure streams', () => streams.close());

  const queue = new Queue(WEBHOOK_QUEUE, { connection: { url: space.redisUrl }, prefix: space.prefix });
  cleanup.add('soak queue client', () => queue.close());
  const redis = new Redis(space.redisUrl, { maxRetriesPerRequest: 1 });
  cleanup.add('soak redis client', async () => redis.disconnect());
  const poller = openTestSql(database.url, { max: 1, applicationName: 'runner-planner-soak' });
  cleanup.add('soak poll connection', () => poller.end());

  let interval = emptyInterval();
  const accepted = new Uint8Array(events.length);
  const statusCodes: Record<string, number> = {};
  const watcher = new VisibilityWatcher({
    client: poller,
    events,
    pollMs: options.pollMs,
    onVisible: (_index, latencyMs) => interval.latencies.push(latencyMs),
  });

  const samples: Sample[] = [];
  const answerTimes: number[] = [];
  const sendLags: number[] = [];
  const latenciesBySample: number[][] = [];
  let loadStart = Number.NaN;
  let lastSampleAt = Number.NaN;
  let streamUpdatesBefore = streams.updates;
  const unfinished = async () => {
    const counts = await queue.getJobCounts(...UNFINISHED);
    return Object.values(counts).reduce((sum, n) => sum + n, 0);
  };

  const takeSample = async (phase: Sample['phase']) => {
    const now = nowMs();
    const current = interval;
    interval = emptyInterval();
    const [counts, failed, redisInfo, ...memory] = await Promise.all([
      queue.getJobCounts('waiting', 'active', 'prioritized'),
      queue.getJobCountByTypes('failed'),
      redis.info('memory').catch(() => ''),
      ...APPS.map((app) => readMemory(apps[app].child.pid ?? -1, `${apps[app].url}/metrics`)),
    ]);
    const updates = streams.updates;
    const stats = latency(current.latencies);
    const sample: Sample = {
      seconds: (now - loadStart) / 1000,
      at: new Date().toISOString(),
      phase,
      sent: current.sent,
      accepted: current.accepted,
      rejected: current.rejected,
      acceptedPerSecond: current.accepted / ((now - lastSampleAt) / 1000),
      visible: current.latencies.length,
      latencyP50Ms: stats.p50Ms,
      latencyP99Ms: stats.p99Ms,
      latencyMaxMs: stats.maxMs,
      answerP99Ms: latency(current.answers).p99Ms,
      sendLagP99Ms: latency(current.lags).p99Ms,
      waiting: (counts.waiting ?? 0) + (counts.prioritized ?? 0),
      active: counts.active ?? 0,
      failed,
      unseen: watcher.waiting,
      redisUsedBytes: Number(/^used_memory:(\d+)/m.exec(redisInfo)?.[1] ?? Number.NaN),
      streamUpdates: updates - streamUpdatesBefore,
      memory: Object.fromEntries(APPS.map((app, index) => [app, memory[index]])) as Sample['memory'],
    };
    streamUpdatesBefore = updates;
    lastSampleAt = now;
    samples.push(sample);
    latenciesBySample.push(current.latencies);
    const rss = APPS.map((app) => `${app} ${(sample.memory[app].rssBytes / 2 ** 20).toFixed(0)}`).join(', ');
    log(
      `${phase} ${sample.seconds.toFixed(0).padStart(5)} s: ${sample.acceptedPerSecond.toFixed(0)}/s accepted, ` +
        `visible p50 ${stats.p50Ms.toFixed(0)} ms p99 ${stats.p99Ms.toFixed(0)} ms, backlog ${sample.waiting}, ` +
        `unseen ${sample.unseen}, RSS MiB ${rss}`,
    );
  };

  // Samples on a fixed schedule from the start of the load, plus one the moment it stops.
  let phase: Sample['phase'] = 'load';
  let loadEndSampled = false;
  const loadStopped = new AbortController();
  const samplingStopped = new AbortController();
  const pause = (ms: number, signal: AbortSignal) => setTimeout(ms, undefined, { signal }).catch(() => {});
  const sampler = async () => {
    const intervalMs = options.sampleIntervalSeconds * 1000;
    let next = loadStart + intervalMs;
    while (!samplingStopped.signal.aborted) {
      const wakeUp =
        phase === 'load'
          ? AbortSignal.any([loadStopped.signal, samplingStopped.signal])
          : samplingStopped.signal;
      await pause(Math.max(0, next - nowMs()), wakeUp);
      if (samplingStopped.signal.aborted) break;
      if (phase === 'drain' && !loadEndSampled) {
        loadEndSampled = true;
        // Right after a scheduled sample, the next one (a drain sample) covers the last moments.
        if (nowMs() - lastSampleAt >= MIN_SAMPLE_MS) await takeSample('load');
        next = nowMs() + intervalMs;
        continue;
      }
      await takeSample(phase);
      next += intervalMs;
    }
  };

  log(
    `soak: ${events.length} events (${jobs} jobs) at ${options.rate}/s for ${options.durationSeconds} s, ` +
      `${streamed.length} pressure streams open, a sample every ${options.sampleIntervalSeconds} s`,
  );
  const cpu = await probeCpu({
    gateway: async () => [apps.gateway.child.pid ?? -1],
    worker: async () => [apps.worker.child.pid ?? -1],
    planner: async () => [apps.planner.child.pid ?? -1],
    'soak runner': async () => [process.pid],
    redis: () => pidsOf('redis-server'),
    postgres: () => pidsOf('postgres'),
  });
  const loadAverageAtStart = loadavg();
  loadStart = nowMs();
  lastSampleAt = loadStart;
  const sampling$ = sampler();
  await sendSteadily({
    url: `${apps.gateway.url}/webhooks/github`,
    events,
    perSecond: options.rate,
    chunk: options.rate * options.sampleIntervalSeconds,
    epochMs: Date.now(),
    onAnswer: (index, outcome) => {
      interval.sent++;
      interval.answers.push(outcome.answeredAt - outcome.scheduledAt);
      interval.lags.push(outcome.sentAt - outcome.scheduledAt);
      answerTimes.push(outcome.answeredAt - outcome.scheduledAt);
      sendLags.push(outcome.sentAt - outcome.scheduledAt);
      statusCodes[outcome.status] = (statusCodes[outcome.status] ?? 0) + 1;
      if (outcome.status === 202) {
        accepted[index] = 1;
        interval.accepted++;
        watcher.add(index, outcome.answeredAt);
      } else interval.rejected++;
    },
  });
  const loadSeconds = (nowMs() - loadStart) / 1000;
  const cpuUsage = await cpu.stop();
  phase = 'drain';
  loadStopped.abort();

  // Drain: every accepted event visible, and nothing left in the queue.
  const drainStart = nowMs();
  const drainDeadline = drainStart + options.drainTimeoutSeconds * 1000;
  await watcher.finish(options.drainTimeoutSeconds * 1000);
  while ((await unfinished()) > 0 && nowMs() < drainDeadline) await sleep(100);
  const drained = watcher.waiting === 0 && (await unfinished()) === 0;
  const drainSeconds = (nowMs() - drainStart) / 1000;
  samplingStopped.abort();
  await sampling$;
  if (!loadEndSampled && nowMs() - lastSampleAt >= MIN_SAMPLE_MS) await takeSample('load');
  if (nowMs() - lastSampleAt >= MIN_SAMPLE_MS || interval.sent > 0 || interval.latencies.length > 0) {
    await takeSample('drain');
  }
  log(
    `load ${loadSeconds.toFixed(1)} s, drain ${drainSeconds.toFixed(1)} s${drained ? '' : ' (did not drain)'}`,
  );

  const appExits = APPS.flatMap((app) => {
    const child = apps[app].child;
    return child.exitCode !== null || child.signalCode !== null
      ? [`${app} (${child.exitCode ?? child.signalCode})`]
      : [];
  });
  const verification = await verifyJobs(database.url, events, (index) => accepted[index] === 1);
  const finalPressure = await admin.getPressure('_');
  const converged = await streams.converged(finalPressure, 10_000);
  const failedQueueJobs = await queue.getJobCountByTypes('failed');

  const loadSamples = samples.filter((sample) => sample.phase === 'load');
  // Up to 5 minutes each, and at most a third of the run, so that short runs compare too.
  const windowSamples = Math.max(
    1,
    Math.round(Math.min(LATENCY_WINDOW_SECONDS, loadSeconds / 3) / options.sampleIntervalSeconds),
  );
  const overTime = (value: (sample: Sample) => number) =>
    slopePerHourOverSecondHalf(loadSamples, (sample) => sample.seconds, value, loadSeconds);
  const sent = Object.values(statusCodes).reduce((sum, n) => sum + n, 0);
  const acceptedCount = statusCodes['202'] ?? 0;
  const summary: SoakSummary = {
    settings: {
      rate: options.rate,
      durationSeconds: options.durationSeconds,
      sampleIntervalSeconds: options.sampleIntervalSeconds,
      workerConcurrency: options.workerConcurrency,
      flavors: options.flavors,
      streams: streamed.length,
    },
    startedAt: startedAt.toISOString(),
    loadSeconds,
    drainSeconds,
    drained,
    sent,
    accepted: acceptedCount,
    statusCodes,
    acceptedPerSecond: acceptedCount / loadSeconds,
    answer: latency(answerTimes),
    sendLagP99Ms: latency(sendLags).p99Ms,
    verification,
    failedQueueJobs,
    streams: {
      open: streamed.length,
      updates: streams.updates,
      reconnects: streams.reconnects,
      errors: streams.states.flatMap((state) => (state.error ? [`${state.flavor}: ${state.error}`] : [])),
      converged,
    },
    memory: Object.fromEntries(
      APPS.map((app) => [app, memoryTrend(loadSamples, app, loadSeconds)]),
    ) as SoakSummary['memory'],
    latency: {
      overall: latency(latenciesBySample.flat()),
      first: windowLatency(samples, latenciesBySample, 'first', windowSamples, options.sampleIntervalSeconds),
      last: windowLatency(samples, latenciesBySample, 'last', windowSamples, options.sampleIntervalSeconds),
      p50SlopeMsPerHour: overTime((sample) => sample.latencyP50Ms),
      p99SlopeMsPerHour: overTime((sample) => sample.latencyP99Ms),
      unmeasured: watcher.unmeasured,
    },
    backlog: {
      maxWaiting: samples.reduce((max, sample) => Math.max(max, sample.waiting), 0),
      waitingAtEndOfLoad: loadSamples.at(-1)?.waiting ?? Number.NaN,
      slopePerHour: overTime((sample) => sample.waiting),
    },
    redis: {
      usedStartMb: mb(loadSamples[0]?.redisUsedBytes ?? Number.NaN),
      usedEndMb: mb(loadSamples.at(-1)?.redisUsedBytes ?? Number.NaN),
    },
    cpu: cpuUsage,
    loadAverage: { atStart: loadAverageAtStart, atEnd: loadavg() },
    appExits,
  };

  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  const base = join(options.resultsDir, `soak-${stamp}`);
  await mkdir(options.resultsDir, { recursive: true });
  const files: SoakResult['files'] = {
    json: `${base}.json`,
    csv: `${base}.csv`,
    markdown: `${base}.md`,
  };
  await writeFile(files.json, `${JSON.stringify({ summary, samples }, null, 2)}\n`);
  await writeFile(files.csv, samplesCsv(samples));
  await writeFile(files.markdown, summaryMarkdown(summary));
  if (options.chartPath !== undefined) {
    files.svg = `${base}.svg`;
    files.png = options.chartPath;
    const title = `runner-planner soak: ${options.rate} events/s for ${(loadSeconds / 60).toFixed(1)} min (${summary.startedAt.slice(0, 16)}Z)`;
    await writeChart(samples, title, loadSeconds, { png: files.png, svg: files.svg });
  }
  return { summary, samples, files };
}
