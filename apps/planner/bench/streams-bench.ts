// Benchmark 1: many pressure streams on one planner process; how fast a change reaches all of them.

import {
  type Cleanup,
  type Latency,
  latency,
  memoryMiB,
  nowMs,
  processCpuSeconds,
  sleep,
} from '@runner-planner/bench-kit';
import type { Flavor, NewJob } from '@runner-planner/core';
import type { Database } from '@runner-planner/database';
import { benchFlavors, type TestSql } from '@runner-planner/database/testing';
import type { PlannerBenchConfig } from './config.js';
import type { PlannerUnderTest } from './planner-process.js';
import { Inbox, spawnNode, tsArgs } from './processes.js';
import type { FromStreamClient, ToStreamClient } from './stream-protocol.js';

const LISTENER = 'runner-planner-pressure-listener';
/** Job ids of the changes: far from the loaded ranges. */
const CHANGE_ID_BASE = 60_000_000_000;
const CHANGE_TIMEOUT_MS = 10_000;
const GAP_BETWEEN_CHANGES_MS = 1_000;

export interface StreamsContext {
  config: PlannerBenchConfig;
  planner: PlannerUnderTest;
  adminToken: string;
  /** Writes the changes (Database.addJob: concurrent calls share one INSERT and one commit). */
  db: Database;
  /** One connection to the scratch database, for pg_stat_activity. */
  stats: TestSql;
  cleanup: Cleanup;
  log: (message: string) => void;
}

export interface ChangeResult {
  index: number;
  /** addJob of one job per watched flavor, start to resolve. */
  writeMs: number;
  fromCommit: Latency;
  fromStart: Latency;
  /** The first stream to get the line: notification, read and the first write, before the fan-out. */
  firstMs: number;
  received: number;
  withinOneSecond: number;
  missing: number;
  extraLines: number;
  /** CPU seconds used during the change: planner, stream client. */
  plannerCpuSeconds: number;
  clientCpuSeconds: number;
}

export interface StreamsResult {
  streams: { requested: number; all: number; perFlavor: number; flavors: string[] };
  open: { open: number; failed: number; failures: string[]; seconds: number; firstLine: Latency };
  /** As the planner reports it (runner_planner_pressure_streams). */
  plannerStreamsGauge: number;
  memoryMiB: { beforeStreams: number; allOpen: number; maxSampled: number; peak: number };
  plannerCpuSecondsToOpen: number;
  /** Connections to the scratch database by application_name, with every stream open. */
  connections: Record<string, number>;
  listenerConnections: { allOpen: number; afterChanges: number };
  changes: ChangeResult[];
  /** Every change together. */
  overall: { fromCommit: Latency; received: number; expected: number; withinOneSecond: number };
  unchangedLines: number;
  closedStreams: number;
}

/** Flavors whose pressure one new job moves: a label only they have, no minimum pressure. */
export function watchedFlavors(count: number): Flavor[] {
  const candidates = benchFlavors().filter(
    (flavor) => flavor.labels.length === 4 && flavor.minimumPressure === 0,
  );
  const step = Math.max(1, Math.floor(candidates.length / count));
  return Array.from({ length: count }, (_, i) => candidates[(i * step) % candidates.length]!);
}

/** `all` streams on `_` spread evenly among the others, which go round-robin over `flavors`. */
function streamPaths(total: number, all: number, flavors: readonly Flavor[]): string[] {
  const paths: string[] = [];
  let flavorStreams = 0;
  for (let i = 0; i < total; i++) {
    const isAll = Math.floor(((i + 1) * all) / total) > Math.floor((i * all) / total);
    const name = isAll ? '_' : flavors[flavorStreams++ % flavors.length]!.name;
    paths.push(`/api/v1/flavors/${encodeURIComponent(name)}/pressure?stream=true`);
  }
  return paths;
}

async function connectionsByApp(stats: TestSql): Promise<Record<string, number>> {
  const { rows } = await stats.query<{ app: string; n: string }>(
    `SELECT coalesce(nullif(application_name, ''), '(none)') AS app, count(*) AS n FROM pg_stat_activity
     WHERE datname = current_database() AND pid <> pg_backend_pid() GROUP BY 1 ORDER BY 1`,
  );
  return Object.fromEntries(rows.map((row) => [row.app, Number(row.n)]));
}

async function streamsGauge(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(/^runner_planner_pressure_streams(?:\{[^}]*\})? (\S+)$/m.exec(text)?.[1] ?? Number.NaN);
}

function changeJobs(flavors: readonly Flavor[], index: number): NewJob[] {
  return flavors.map((flavor, i) => {
    const id = CHANGE_ID_BASE + index * 1_000 + i;
    return {
      platform: flavor.platform,
      id: String(id),
      labels: flavor.labels,
      createdAt: new Date(),
      startedAt: null,
      completedAt: null,
      raw: { queued: { id, bench: 'planner streams' } },
    };
  });
}

/** Samples the planner's resident memory until stopped; returns the highest sample. */
function sampleMemory(pid: number): { stop(): Promise<number> } {
  let max = 0;
  const timer = setInterval(() => {
    memoryMiB(pid).then(
      (memory) => {
        max = Math.max(max, memory.rss);
      },
      () => {},
    );
  }, 200);
  return {
    async stop() {
      clearInterval(timer);
      return Math.max(max, (await memoryMiB(pid)).rss);
    },
  };
}

export async function runStreamsBench(context: StreamsContext): Promise<StreamsResult> {
  const { config, planner, log } = context;
  const flavors = watchedFlavors(config.streamFlavors);
  const paths = streamPaths(config.streams, config.allStreams, flavors);
  const pid = planner.proc.pid;
  const beforeStreams = (await memoryMiB(pid)).rss;
  const memory = sampleMemory(pid);

  const client = spawnNode(
    'stream client',
    tsArgs('stream-client.ts'),
    { manyFiles: true, ipc: true, env: {} },
    context.cleanup,
  );
  const inbox = new Inbox<FromStreamClient>(client);
  const tell = (message: ToStreamClient) => client.child.send(message);
  try {
    log(
      `opening ${config.streams} streams (${config.allStreams} on _, the rest over ${flavors.length} flavors)`,
    );
    const cpuBeforeOpen = await processCpuSeconds(pid);
    tell({
      type: 'open',
      port: planner.port,
      token: context.adminToken,
      paths,
      concurrency: config.openConcurrency,
    });
    const opened = await inbox.next('opened', 600_000);
    const plannerCpuSecondsToOpen = (await processCpuSeconds(pid)) - cpuBeforeOpen;
    log(`${opened.open} streams open in ${opened.seconds.toFixed(1)} s, ${opened.failed} failed`);
    await sleep(2_000);
    const allOpen = (await memoryMiB(pid)).rss;
    const plannerStreamsGauge = await streamsGauge(planner.url);
    const connections = await connectionsByApp(context.stats);

    const changes: ChangeResult[] = [];
    const fromCommitAll: number[] = [];
    let unchangedLines = 0;
    let closedStreams = 0;
    for (let index = 1; index <= config.changes; index++) {
      const jobs = changeJobs(flavors, index);
      const cpuBefore = await Promise.all([processCpuSeconds(pid), processCpuSeconds(client.pid)]);
      const startedAt = nowMs();
      await Promise.all(jobs.map((job) => context.db.addJob(job)));
      const committedAt = nowMs();
      tell({ type: 'change', index, startedAt, committedAt, timeoutMs: CHANGE_TIMEOUT_MS });
      const result = await inbox.next('changed', CHANGE_TIMEOUT_MS + 30_000);
      const cpuAfter = await Promise.all([processCpuSeconds(pid), processCpuSeconds(client.pid)]);
      fromCommitAll.push(...result.fromCommitMs);
      unchangedLines = result.unchangedLines;
      closedStreams = result.closed;
      const change: ChangeResult = {
        index,
        writeMs: committedAt - startedAt,
        fromCommit: latency(result.fromCommitMs),
        fromStart: latency(result.fromStartMs),
        firstMs: Math.min(...result.fromCommitMs),
        received: result.fromCommitMs.length,
        withinOneSecond: result.fromCommitMs.filter((ms) => ms <= 1_000).length,
        missing: result.missing,
        extraLines: result.extraLines,
        plannerCpuSeconds: (cpuAfter[0] ?? 0) - (cpuBefore[0] ?? 0),
        clientCpuSeconds: (cpuAfter[1] ?? 0) - (cpuBefore[1] ?? 0),
      };
      changes.push(change);
      log(
        `change ${index}: ${change.received} lines, p50 ${change.fromCommit.p50Ms.toFixed(0)} ms, ` +
          `p99 ${change.fromCommit.p99Ms.toFixed(0)} ms, max ${change.fromCommit.maxMs.toFixed(0)} ms, ` +
          `${change.missing} missing`,
      );
      await sleep(GAP_BETWEEN_CHANGES_MS);
    }
    const afterChanges = await connectionsByApp(context.stats);
    const memoryEnd = await memoryMiB(pid);
    const maxSampled = await memory.stop();

    tell({ type: 'close' });
    await inbox.next('closed', 30_000).catch(() => undefined);
    await client.stop();

    const perFlavor = Math.ceil((config.streams - config.allStreams) / flavors.length);
    return {
      streams: {
        requested: config.streams,
        all: config.allStreams,
        perFlavor,
        flavors: flavors.map((f) => f.name),
      },
      open: {
        open: opened.open,
        failed: opened.failed,
        failures: opened.failures,
        seconds: opened.seconds,
        firstLine: latency(opened.firstLineMs),
      },
      plannerStreamsGauge,
      memoryMiB: { beforeStreams, allOpen, maxSampled, peak: memoryEnd.peak },
      plannerCpuSecondsToOpen,
      connections,
      listenerConnections: { allOpen: connections[LISTENER] ?? 0, afterChanges: afterChanges[LISTENER] ?? 0 },
      changes,
      overall: {
        fromCommit: latency(fromCommitAll),
        received: fromCommitAll.length,
        expected: opened.open * config.changes,
        withinOneSecond: fromCommitAll.filter((ms) => ms <= 1_000).length,
      },
      unchangedLines,
      closedStreams,
    };
  } finally {
    await memory.stop().catch(() => 0);
    await client.stop();
  }
}
