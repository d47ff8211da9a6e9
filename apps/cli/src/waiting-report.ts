import type pg from 'pg';
import Cursor from 'pg-cursor';
import { progress } from './progress.js';

export interface WaitingRow {
  day: string;
  platform: string;
  jobs: number;
  /** The percentile of waiting seconds, interpolated as PostgreSQL's percentile_cont does. */
  waiting: number;
}

/** Rows read per round trip: the bar moves at least this often, and memory stays one group. */
const BATCH = 5_000;

// Owned jobs (assigned a flavor) started in [$1, $2).
const OWNED_STARTED_IN_RANGE = 'started_at >= $1 AND started_at < $2 AND assigned_flavor IS NOT NULL';

/** Linear interpolation between the closest ranks, the definition percentile_cont uses. */
export function percentileOfSorted(sorted: readonly number[], fraction: number): number {
  const position = fraction * (sorted.length - 1);
  const lower = Math.floor(position);
  const below = sorted[lower] ?? Number.NaN;
  const above = sorted[Math.ceil(position)] ?? below;
  return below + (above - below) * (position - lower);
}

/**
 * Waiting time (created → started) per UTC day and platform. The rows are streamed through a
 * cursor sorted by group and waiting time, so a terminal can show how many have been read;
 * only one group's waiting times are held at a time.
 */
export async function waitingReport(
  client: pg.Client,
  options: { from: Date; to: Date; percentile: number },
): Promise<WaitingRow[]> {
  const range = [options.from, options.to];
  const counted = await client.query<{ rows: number }>(
    `SELECT count(*)::int AS rows FROM job WHERE ${OWNED_STARTED_IN_RANGE}`,
    range,
  );
  const bar = progress('reading jobs', counted.rows[0]?.rows ?? 0);
  const cursor = client.query(
    new Cursor<{ day: string; platform: string; waiting: number }>(
      `SELECT to_char(date_trunc('day', started_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD') AS day,
              platform,
              greatest(extract(epoch FROM started_at - created_at), 0)::float8 AS waiting
         FROM job
        WHERE ${OWNED_STARTED_IN_RANGE}
        ORDER BY 1, 2, 3`,
      range,
    ),
  );
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
    for (;;) {
      const rows = await cursor.read(BATCH);
      if (rows.length === 0) break;
      for (const row of rows) {
        if (group === undefined || group.day !== row.day || group.platform !== row.platform) {
          flush();
          group = { day: row.day, platform: row.platform, waiting: [] };
        }
        group.waiting.push(row.waiting);
      }
      bar.tick(rows.length);
    }
    flush();
  } finally {
    bar.stop();
    await cursor.close();
  }
  return result;
}
