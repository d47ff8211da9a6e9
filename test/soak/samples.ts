import type { AppName } from '../support/apps.js';
import type { MemoryReading } from './memory.js';

export const APPS: readonly AppName[] = ['gateway', 'worker', 'planner'];

/** What one sample interval saw; counts are for the interval, not cumulative. */
export interface Sample {
  /** Seconds from the start of the load to the end of the interval. */
  seconds: number;
  at: string;
  /** `load` while webhooks are sent, `drain` while the backlog is worked off after. */
  phase: 'load' | 'drain';
  sent: number;
  accepted: number;
  /** Answers other than 202 (0: no answer at all). */
  rejected: number;
  acceptedPerSecond: number;
  /** Events whose effect became visible in PostgreSQL during the interval. */
  visible: number;
  /** 202 → row visible, over the events that became visible in the interval. */
  latencyP50Ms: number;
  latencyP99Ms: number;
  latencyMaxMs: number;
  /** Webhook due → gateway's answer, over the answers of the interval (the gateway's side). */
  answerP99Ms: number;
  /** How late the soak process itself sent (it shares the cores): large values void the rate. */
  sendLagP99Ms: number;
  /** Queue jobs waiting for the worker at the end of the interval: the backlog. */
  waiting: number;
  active: number;
  /** Dead letters so far. */
  failed: number;
  /** Accepted events not visible in PostgreSQL yet. */
  unseen: number;
  /** Redis `used_memory` (the whole server: other users of the same Redis count too). */
  redisUsedBytes: number;
  /** Snapshots the open pressure streams delivered during the interval. */
  streamUpdates: number;
  memory: Record<AppName, MemoryReading>;
}

const MB = 2 ** 20;

export const mb = (bytes: number) => bytes / MB;

/** One row per sample, memory in MiB, for a spreadsheet. */
export function samplesCsv(samples: readonly Sample[]): string {
  const memoryColumns = APPS.flatMap((app) => [
    `${app}_rss_mb`,
    `${app}_heap_used_mb`,
    `${app}_heap_total_mb`,
  ]);
  const header = [
    'seconds',
    'at',
    'phase',
    'sent',
    'accepted',
    'rejected',
    'accepted_per_second',
    'visible',
    'latency_p50_ms',
    'latency_p99_ms',
    'latency_max_ms',
    'answer_p99_ms',
    'send_lag_p99_ms',
    'waiting',
    'active',
    'failed',
    'unseen',
    'redis_used_mb',
    'stream_updates',
    ...memoryColumns,
  ];
  const number = (value: number, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : '');
  const rows = samples.map((sample) => [
    number(sample.seconds),
    sample.at,
    sample.phase,
    sample.sent,
    sample.accepted,
    sample.rejected,
    number(sample.acceptedPerSecond),
    sample.visible,
    number(sample.latencyP50Ms),
    number(sample.latencyP99Ms),
    number(sample.latencyMaxMs),
    number(sample.answerP99Ms),
    number(sample.sendLagP99Ms),
    sample.waiting,
    sample.active,
    sample.failed,
    sample.unseen,
    number(mb(sample.redisUsedBytes)),
    sample.streamUpdates,
    ...APPS.flatMap((app) => {
      const memory = sample.memory[app];
      return [
        number(mb(memory.rssBytes)),
        number(mb(memory.heapUsedBytes)),
        number(mb(memory.heapTotalBytes)),
      ];
    }),
  ]);
  return `${[header, ...rows].map((row) => row.join(',')).join('\n')}\n`;
}
