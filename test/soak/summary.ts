import { availableParallelism } from 'node:os';
import { type CpuUsage, formatCpu, type Latency, latency } from '@runner-planner/bench-kit';
import type { AppName } from '../support/apps.js';
import { APPS, mb, type Sample } from './samples.js';
import { slopePerHourOverSecondHalf } from './trend.js';
import type { Verification } from './verify.js';

export interface SoakSettings {
  rate: number;
  durationSeconds: number;
  sampleIntervalSeconds: number;
  workerConcurrency: number;
  flavors: number;
  streams: number;
}

export interface MemoryTrend {
  rssStartMb: number;
  rssEndMb: number;
  /** Least-squares slope of RSS over the second half of the load phase. */
  rssSlopeMbPerHour: number;
  heapStartMb: number;
  heapEndMb: number;
  heapSlopeMbPerHour: number;
}

export interface WindowLatency extends Latency {
  fromSeconds: number;
  toSeconds: number;
}

export interface SoakSummary {
  settings: SoakSettings;
  startedAt: string;
  /** From the first webhook due to the last answer. */
  loadSeconds: number;
  /** From the end of the load until every accepted event was visible and the queue empty. */
  drainSeconds: number;
  drained: boolean;
  sent: number;
  accepted: number;
  /** HTTP status → count (0: no answer). */
  statusCodes: Record<string, number>;
  /** Accepted webhooks per second of the load phase. */
  acceptedPerSecond: number;
  /** Webhook due → the gateway's answer, over the whole load. */
  answer: Latency;
  /** How late the soak process sent, p99: large means it could not keep the rate itself. */
  sendLagP99Ms: number;
  verification: Verification;
  /** Dead letters in the queue. */
  failedQueueJobs: number;
  streams: { open: number; updates: number; reconnects: number; errors: string[]; converged: boolean };
  memory: Record<AppName, MemoryTrend>;
  latency: {
    overall: Latency;
    first: WindowLatency;
    last: WindowLatency;
    p50SlopeMsPerHour: number;
    p99SlopeMsPerHour: number;
    /** Visible before first asked about: no trustworthy time, left out of the figures. */
    unmeasured: number;
  };
  backlog: { maxWaiting: number; waitingAtEndOfLoad: number; slopePerHour: number };
  /** Redis `used_memory` at the first and last sample of the load (the whole server). */
  redis: { usedStartMb: number; usedEndMb: number };
  cpu: CpuUsage;
  /** 1-, 5- and 15-minute load averages: more than the cores means other work competed. */
  loadAverage: { atStart: number[]; atEnd: number[] };
  /** Apps that exited by themselves during the run (a crash), with their exit code or signal. */
  appExits: string[];
}

/**
 * The latencies of the first (`which` = 'first') or last `count` load samples, pooled; the window
 * runs from the start of its first interval to the end of its last.
 */
export function windowLatency(
  samples: readonly Sample[],
  latencies: readonly (readonly number[])[],
  which: 'first' | 'last',
  count: number,
  intervalSeconds: number,
): WindowLatency {
  const load = samples.flatMap((sample, index) => (sample.phase === 'load' ? [index] : []));
  const chosen = which === 'first' ? load.slice(0, count) : load.slice(-count);
  const pooled = chosen.flatMap((index) => latencies[index] ?? []);
  const first = samples[chosen[0] ?? -1];
  const last = samples[chosen.at(-1) ?? -1];
  return {
    fromSeconds: Math.max(0, (first?.seconds ?? 0) - intervalSeconds),
    toSeconds: last?.seconds ?? 0,
    ...latency(pooled),
  };
}

export function memoryTrend(loadSamples: readonly Sample[], app: AppName, loadSeconds: number): MemoryTrend {
  const first = loadSamples[0];
  const last = loadSamples.at(-1);
  const seconds = (sample: Sample) => sample.seconds;
  return {
    rssStartMb: first ? mb(first.memory[app].rssBytes) : Number.NaN,
    rssEndMb: last ? mb(last.memory[app].rssBytes) : Number.NaN,
    rssSlopeMbPerHour: slopePerHourOverSecondHalf(
      loadSamples,
      seconds,
      (sample) => mb(sample.memory[app].rssBytes),
      loadSeconds,
    ),
    heapStartMb: first ? mb(first.memory[app].heapUsedBytes) : Number.NaN,
    heapEndMb: last ? mb(last.memory[app].heapUsedBytes) : Number.NaN,
    heapSlopeMbPerHour: slopePerHourOverSecondHalf(
      loadSamples,
      seconds,
      (sample) => mb(sample.memory[app].heapUsedBytes),
      loadSeconds,
    ),
  };
}

/** Below this much load, half the run is too few samples for a slope to mean anything. */
const SHORT_RUN_SECONDS = 10 * 60;

const fixed = (value: number, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');
const signed = (value: number, digits = 1) =>
  Number.isFinite(value) ? `${value >= 0 ? '+' : ''}${value.toFixed(digits)}` : 'n/a';
const count = (value: number) => Math.round(value).toLocaleString('en-US');
const signedCount = (value: number) =>
  Number.isFinite(value) ? `${value >= 0 ? '+' : ''}${count(value)}` : 'n/a';
const loads = (values: number[]) => values.map((value) => value.toFixed(1)).join(' / ');
const span = (window: WindowLatency, which: string) =>
  `${which} ${fixed((window.toSeconds - window.fromSeconds) / 60, 1)} min`;

/** The table to paste into docs/reliability.md, with the notes it needs. */
export function summaryMarkdown(summary: SoakSummary): string {
  const { settings, verification: check, latency: times } = summary;
  const lines = [
    `### Soak: ${fixed(settings.durationSeconds / 60, 1)} min at ${count(settings.rate)} events/s`,
    '',
    `Run ${summary.startedAt}; worker concurrency ${settings.workerConcurrency}, ${settings.flavors} flavors, ` +
      `${settings.streams} pressure streams open, a sample every ${settings.sampleIntervalSeconds} s.`,
    '',
    '| figure | value |',
    '|---|---|',
    `| duration of the load | ${fixed(summary.loadSeconds / 60, 1)} min (then ${fixed(summary.drainSeconds, 0)} s to drain${summary.drained ? '' : ', **did not drain**'}) |`,
    `| rate achieved (accepted/s) | ${fixed(summary.acceptedPerSecond, 1)} of ${count(settings.rate)} asked |`,
    `| gateway answer (due → 202) | p50 ${fixed(summary.answer.p50Ms)} ms, p99 ${fixed(summary.answer.p99Ms)} ms (sender's own lag p99 ${fixed(summary.sendLagP99Ms)} ms) |`,
    `| events sent / accepted (202) | ${count(summary.sent)} / ${count(summary.accepted)} |`,
    `| jobs (queued → started → completed) | ${count(check.jobsFound)} of ${count(check.jobsExpected)} in the database |`,
    `| **lost** (accepted, effect not in the database) | **${count(check.lostEvents)}** |`,
    `| jobs not in their final state | ${count(check.wrongFinalState)} |`,
    `| dead letters | ${count(summary.failedQueueJobs)} |`,
    `| pressure streams | ${summary.streams.open} open, ${count(summary.streams.updates)} updates, ${summary.streams.reconnects} reconnections, ${summary.streams.converged ? 'all ended on the final pressure' : '**did not converge**'} |`,
    `| queue backlog | max ${count(summary.backlog.maxWaiting)} waiting, ${count(summary.backlog.waitingAtEndOfLoad)} when the load stopped (${signedCount(summary.backlog.slopePerHour)}/h over the second half) |`,
  ];
  lines.push(
    `| Redis used memory (whole server) | ${fixed(summary.redis.usedStartMb)} → ${fixed(summary.redis.usedEndMb)} MiB |`,
  );
  for (const app of APPS) {
    const memory = summary.memory[app];
    lines.push(
      `| ${app} RSS start → end (slope, 2nd half) | ${fixed(memory.rssStartMb)} → ${fixed(memory.rssEndMb)} MiB (${signed(memory.rssSlopeMbPerHour)} MiB/h); heap ${fixed(memory.heapStartMb)} → ${fixed(memory.heapEndMb)} MiB (${signed(memory.heapSlopeMbPerHour)} MiB/h) |`,
    );
  }
  lines.push(
    `| latency 202 → row visible, ${span(times.first, 'first')} | p50 ${fixed(times.first.p50Ms)} ms, p99 ${fixed(times.first.p99Ms)} ms |`,
    `| latency 202 → row visible, ${span(times.last, 'last')} | p50 ${fixed(times.last.p50Ms)} ms, p99 ${fixed(times.last.p99Ms)} ms |`,
    `| latency trend (2nd half) | p50 ${signed(times.p50SlopeMsPerHour)} ms/h, p99 ${signed(times.p99SlopeMsPerHour)} ms/h |`,
    '',
    `CPU over the load: ${formatCpu(summary.cpu)}. Load average ${loads(summary.loadAverage.atStart)} at the start, ` +
      `${loads(summary.loadAverage.atEnd)} at the end (${availableParallelism()} cores).`,
  );
  if (summary.loadSeconds < SHORT_RUN_SECONDS) {
    lines.push(
      '',
      `The slopes come from ${fixed(summary.loadSeconds / 120, 1)} min of samples: too short to tell a trend from garbage-collection swings.`,
    );
  }
  if (times.unmeasured > 0) {
    lines.push(
      '',
      `${count(times.unmeasured)} events became visible before the poll first asked about them and have no latency figure.`,
    );
  }
  if (summary.appExits.length > 0)
    lines.push('', `**Apps that exited during the run:** ${summary.appExits.join('; ')}.`);
  if (check.examples.length > 0) lines.push('', `Lost, first few: ${check.examples.join('; ')}.`);
  return `${lines.join('\n')}\n`;
}
