import type { Database } from '@runner-planner/database';
import { progress } from './progress.js';

export interface WaitingRow {
  day: string;
  platform: string;
  jobs: number;
  /** The percentile of waiting seconds, interpolated as PostgreSQL's percentile_cont does. */
  waiting: number;
}

/** Linear interpolation between the closest ranks, the definition percentile_cont uses. */
export function percentileOfSorted(sorted: readonly number[], fraction: number): number {
  const position = fraction * (sorted.length - 1);
  const lower = Math.floor(position);
  const below = sorted[lower] ?? Number.NaN;
  const above = sorted[Math.ceil(position)] ?? below;
  return below + (above - below) * (position - lower);
}

/**
 * Waiting time (created → started) per UTC day and platform. The database streams the waits
 * sorted by group and length, so a terminal can show how many have been read and only one
 * group's waits are held at a time.
 */
export async function waitingReport(
  db: Database,
  options: { from: Date; to: Date; percentile: number },
): Promise<WaitingRow[]> {
  const range = { from: options.from, to: options.to };
  const bar = progress('reading jobs', await db.countStartedJobs(range));
  const result: WaitingRow[] = [];
  let group: { day: string; platform: string; waiting: number[] } | undefined;
  const flush = () => {
    if (group === undefined) return;
    result.push({
      day: group.day,
      platform: group.platform,
      jobs: group.waiting.length,
      waiting: percentileOfSorted(group.waiting, options.percentile / 100),
    });
  };
  try {
    for await (const batch of db.readWaitingTimes(range)) {
      for (const row of batch) {
        if (group === undefined || group.day !== row.day || group.platform !== row.platform) {
          flush();
          group = { day: row.day, platform: row.platform, waiting: [] };
        }
        group.waiting.push(row.seconds);
      }
      bar.tick(batch.length);
    }
    flush();
  } finally {
    bar.stop();
  }
  return result;
}
