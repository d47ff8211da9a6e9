import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';

/** What a backend is running, from its statement text (triggers run inside these). */
const ONE_LINE = `regexp_replace(query, '\\s+', ' ', 'g')`;
const STATEMENT_KIND = `CASE
    WHEN ${ONE_LINE} ILIKE '%INSERT INTO job%' OR query ILIKE '%insert_jobs(%' THEN 'insert job'
    WHEN ${ONE_LINE} ILIKE '%SET started_at%' THEN 'update started'
    WHEN ${ONE_LINE} ILIKE '%SET completed_at%' THEN 'update completed'
    WHEN ${ONE_LINE} ILIKE '%UPDATE job SET raw%' THEN 'merge raw'
    ELSE left(${ONE_LINE}, 30)
  END`;

export interface WaitSamples {
  samples: number;
  /** Mean active backends per `wait event @ statement` (`CPU` when active and not waiting). */
  backends: Record<string, number>;
  /** Mean backends waiting for a row lock, per table of the row. */
  rowLockWaits: Record<string, number>;
}

function means(counts: Record<string, number>, samples: number): Record<string, number> {
  return Object.fromEntries(
    Object.entries(counts)
      .map(([key, total]) => [key, Number((total / Math.max(samples, 1)).toFixed(2))] as const)
      .sort((a, b) => b[1] - a[1]),
  );
}

/** Several samplings as one: each mean weighted by how many samples its sampling took. */
export function mergeWaits(parts: readonly WaitSamples[]): WaitSamples {
  const samples = parts.reduce((sum, part) => sum + part.samples, 0);
  const totals = (pick: (part: WaitSamples) => Record<string, number>) => {
    const sums: Record<string, number> = {};
    for (const part of parts) {
      for (const [key, mean] of Object.entries(pick(part)))
        sums[key] = (sums[key] ?? 0) + mean * part.samples;
    }
    return means(sums, samples);
  };
  return {
    samples,
    backends: totals((part) => part.backends),
    rowLockWaits: totals((part) => part.rowLockWaits),
  };
}

/**
 * Samples what the run's PostgreSQL backends are doing every `intervalMs`: their wait events
 * and statements (`pg_stat_activity`), and for row-lock waits the table of the row (a backend
 * waiting for another transaction's row lock holds the `tuple` lock of that row in `pg_locks`).
 * Two small queries per sample.
 */
export async function sampleWaits(url: string, database: string, intervalMs = 100) {
  const client = new pg.Client({ connectionString: url, application_name: 'runner-planner-bench-waits' });
  await client.connect();
  const backends: Record<string, number> = {};
  const rowLockWaits: Record<string, number> = {};
  let samples = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const activity = await client.query<{ key: string; n: string }>(
        `SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU') || ' @ ' || ${STATEMENT_KIND} AS key,
                count(*) AS n
         FROM pg_stat_activity
         WHERE datname = $1 AND state = 'active' AND pid <> pg_backend_pid()
         GROUP BY 1`,
        [database],
      );
      const locks = await client.query<{ key: string; n: string }>(
        `SELECT coalesce(w.relation, t.relation)::regclass::text AS key, count(*) AS n
         FROM pg_locks AS w
         LEFT JOIN pg_locks AS t ON t.pid = w.pid AND t.locktype = 'tuple' AND t.granted
         WHERE NOT w.granted AND w.locktype IN ('transactionid', 'tuple')
           AND w.pid IN (SELECT pid FROM pg_stat_activity WHERE datname = $1)
         GROUP BY 1`,
        [database],
      );
      samples++;
      for (const row of activity.rows) backends[row.key] = (backends[row.key] ?? 0) + Number(row.n);
      for (const row of locks.rows) {
        const key = row.key ?? 'unknown';
        rowLockWaits[key] = (rowLockWaits[key] ?? 0) + Number(row.n);
      }
      await sleep(intervalMs);
    }
  })();
  return {
    async stop(): Promise<WaitSamples> {
      running = false;
      await loop;
      await client.end();
      return { samples, backends: means(backends, samples), rowLockWaits: means(rowLockWaits, samples) };
    },
  };
}

export function formatWaits(waits: WaitSamples, top = 6): string {
  const entries = Object.entries(waits.backends);
  const active = entries.reduce((sum, [, n]) => sum + n, 0);
  const shown = entries
    .slice(0, top)
    .map(([key, n]) => `${key} ${n}`)
    .join(', ');
  const rows = Object.entries(waits.rowLockWaits)
    .map(([table, n]) => `${table} ${n}`)
    .join(', ');
  return `${active.toFixed(1)} active on average: ${shown || 'none'}; waiting for row locks, by table: ${rows || 'none'}`;
}
