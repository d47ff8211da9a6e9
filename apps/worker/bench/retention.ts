/**
 * Retention (issue 13), in two parts on one scratch database:
 *
 * 1. A simulated year, time compressed: each simulated day adds its jobs set-based (completed
 *    that day, three payloads each) and then runs what the worker's retention pass runs with
 *    that day's clock (deleteJobsCompletedBefore, dropRawPayloadsCompletedBefore, batches of
 *    500); a VACUUM every simulated week stands in for autovacuum, which in real time runs many
 *    times a day. The job table's rows and bytes are printed every 30 days: flat after the horizon.
 * 2. Ingestion beside a pass: addJob latency (16 callers, 6 KB payloads) with and without the
 *    worker's own runRetentionPass deleting a backlog at the same time, alternating A B B A.
 *
 *   BENCH_DATABASE_URL            admin URL (default postgres://postgres@127.0.0.1:5432/postgres)
 *   BENCH_RETENTION_DAYS          simulated days (default 365)
 *   BENCH_RETENTION_JOBS_PER_DAY  jobs per simulated day (default 10000)
 *   BENCH_RETENTION_BACKLOG       expired jobs the pass of part 2 deletes each round (default 100000)
 */

import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import {
  exitWhenDone,
  formatLoad,
  intFromEnv,
  latency,
  progressLog,
  roundOrder,
} from '@runner-planner/bench-kit';
import { Database, migrate } from '@runner-planner/database';
import { openTestSql, type TestSql } from '@runner-planner/database/testing';
import { createTestDatabase } from '@runner-planner/testkit';
import { runRetentionPass } from '../src/retention.js';

const DAY = 86_400_000;
const JOB_HORIZON_DAYS = 90;
const RAW_HORIZON_DAYS = 7;
const BATCH = 500;

const log = progressLog();
const adminUrl = process.env.BENCH_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
const days = intFromEnv('BENCH_RETENTION_DAYS', 365);
const perDay = intFromEnv('BENCH_RETENTION_JOBS_PER_DAY', 10_000);
const backlog = intFromEnv('BENCH_RETENTION_BACKLOG', 100_000);

/** Jobs completed on the day that ends at `dayEnd`, each with its three payloads (about 2 KB). */
const FILL_DAY = `
  INSERT INTO job (platform, id, labels, created_at, started_at, completed_at, raw, assigned_flavor, updated_at)
  SELECT 'github', ($1::bigint + g)::text, ARRAY['x64'], t - interval '10 minutes', t - interval '8 minutes', t,
         jsonb_build_object('queued', jsonb_build_object('id', $1::bigint + g, 'pad', repeat('q', 600)),
                            'in_progress', jsonb_build_object('id', $1::bigint + g, 'pad', repeat('i', 600)),
                            'completed', jsonb_build_object('id', $1::bigint + g, 'pad', repeat('c', 600))),
         'retention-bench', t
  FROM generate_series(1, $2::int) AS g,
       LATERAL (SELECT $3::timestamptz - random() * interval '1 day' AS t) AS at`;

async function untilShort(step: () => Promise<number>): Promise<void> {
  while ((await step()) >= BATCH) {
    // Time is compressed: no pause between batches here.
  }
}

interface Size {
  day: number;
  rows: number;
  tableMiB: number;
  indexesMiB: number;
}

async function sizeAt(sql: TestSql, day: number): Promise<Size> {
  const { rows } = await sql.query<{ rows: string; table: string; indexes: string }>(
    `SELECT (SELECT count(*) FROM job) AS rows, pg_table_size('job') AS table, pg_indexes_size('job') AS indexes`,
  );
  const row = rows[0] ?? { rows: '0', table: '0', indexes: '0' };
  const mib = (bytes: string) => Math.round((Number(bytes) / 2 ** 20) * 10) / 10;
  return { day, rows: Number(row.rows), tableMiB: mib(row.table), indexesMiB: mib(row.indexes) };
}

async function simulateYear(db: Database, sql: TestSql): Promise<Size[]> {
  const sizes: Size[] = [];
  const start = Date.now() - days * DAY;
  for (let day = 1; day <= days; day += 1) {
    const dayEnd = new Date(start + day * DAY);
    await sql.query(FILL_DAY, [day * 1_000_000, perDay, dayEnd.toISOString()]);
    const jobCutoff = new Date(dayEnd.getTime() - JOB_HORIZON_DAYS * DAY);
    const rawCutoff = new Date(dayEnd.getTime() - RAW_HORIZON_DAYS * DAY);
    await untilShort(() => db.deleteJobsCompletedBefore(jobCutoff, BATCH));
    await untilShort(() => db.dropRawPayloadsCompletedBefore(rawCutoff, BATCH));
    if (day % 7 === 0) await sql.query('VACUUM job');
    if (day % 30 === 0 || day === days) {
      const size = await sizeAt(sql, day);
      sizes.push(size);
      log(`day ${day}: ${size.rows} jobs, table ${size.tableMiB} MiB, indexes ${size.indexesMiB} MiB`);
    }
  }
  return sizes;
}

const payload = {
  workflow_job: { steps: Array.from({ length: 25 }, (_, i) => ({ name: `step ${i}`.repeat(20) })) },
};
let nextId = 9_000_000_000;

/** addJob latencies of 16 callers for `seconds`. */
async function ingest(db: Database, seconds: number): Promise<number[]> {
  const samples: number[] = [];
  const until = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (performance.now() < until) {
        nextId += 1;
        const started = performance.now();
        await db.addJob({
          platform: 'github',
          id: String(nextId),
          labels: ['x64'],
          createdAt: new Date(),
          startedAt: null,
          completedAt: null,
          raw: { queued: payload },
        });
        samples.push(performance.now() - started);
      }
    }),
  );
  return samples;
}

async function ingestionBesidePasses(db: Database, sql: TestSql) {
  const cases = ['without a pass', 'beside a retention pass'] as const;
  const samples: Record<(typeof cases)[number], number[]> = {
    'without a pass': [],
    'beside a retention pass': [],
  };
  const passes: string[] = [];
  for (let round = 0; round < 4; round += 1) {
    for (const name of roundOrder(cases, round)) {
      // A backlog the pass must delete: completed 100 days ago, past the 90-day horizon.
      await sql.query(FILL_DAY, [
        (500 + round * 2 + cases.indexOf(name)) * 1_000_000,
        backlog,
        new Date(Date.now() - 100 * DAY).toISOString(),
      ]);
      await sql.query('VACUUM ANALYZE job');
      const passStarted = performance.now();
      const pass =
        name === 'beside a retention pass'
          ? runRetentionPass(db, {
              jobRetentionMs: JOB_HORIZON_DAYS * DAY,
              rawPayloadRetentionMs: RAW_HORIZON_DAYS * DAY,
            }).then(
              ({ deletedJobs }) =>
                `${deletedJobs} in ${((performance.now() - passStarted) / 1000).toFixed(1)} s`,
            )
          : undefined;
      samples[name].push(...(await ingest(db, 10)));
      if (pass !== undefined) passes.push(await pass);
      else await runRetentionPass(db, { jobRetentionMs: JOB_HORIZON_DAYS * DAY, rawPayloadRetentionMs: 0 });
    }
  }
  return {
    without: latency(samples['without a pass']),
    beside: latency(samples['beside a retention pass']),
    passes,
  };
}

async function main(): Promise<boolean> {
  const loadAtStart = loadavg();
  const database = await createTestDatabase('bench_retention', { adminUrl });
  const sql = openTestSql(database.url);
  let db: Database | undefined;
  try {
    await migrate(database.url);
    db = await Database.connect(database.url, { poolSize: 20 });
    await db.addFlavor({
      platform: 'github',
      name: 'retention-bench',
      labels: ['x64'],
      priority: 0,
      isDisabled: false,
      minimumPressure: 0,
    });
    log(
      `a simulated year: ${days} days of ${perDay} jobs, horizon ${JOB_HORIZON_DAYS} days, payloads ${RAW_HORIZON_DAYS} days`,
    );
    const sizes = await simulateYear(db, sql);
    log(`ingestion beside passes deleting ${backlog} expired jobs each`);
    const beside = await ingestionBesidePasses(db, sql);
    const ratio = beside.beside.p99Ms / beside.without.p99Ms;
    const atHorizon = sizes.find((size) => size.day >= JOB_HORIZON_DAYS + 30);
    const last = sizes.at(-1);
    const lines = [
      `Retention: ${days} simulated days × ${perDay.toLocaleString('en-US')} jobs, JOB_RETENTION ${JOB_HORIZON_DAYS} d, RAW_PAYLOAD_RETENTION ${RAW_HORIZON_DAYS} d.`,
      '',
      '| simulated day | jobs | table | indexes |',
      '|---:|---:|---:|---:|',
      ...sizes.map(
        (size) =>
          `| ${size.day} | ${size.rows.toLocaleString('en-US')} | ${size.tableMiB} MiB | ${size.indexesMiB} MiB |`,
      ),
      '',
      atHorizon && last
        ? `Growth from day ${atHorizon.day} to day ${last.day}: table ${(last.tableMiB / atHorizon.tableMiB).toFixed(2)}×, indexes ${(last.indexesMiB / atHorizon.indexesMiB).toFixed(2)}×.`
        : `Fewer than ${JOB_HORIZON_DAYS + 30} simulated days: no steady state to compare.`,
      '',
      '| addJob, 16 callers, 4 × 10 s | p50 | p99 | samples |',
      '|---|---:|---:|---:|',
      `| without a pass | ${beside.without.p50Ms.toFixed(2)} ms | ${beside.without.p99Ms.toFixed(2)} ms | ${beside.without.samples} |`,
      `| beside a retention pass | ${beside.beside.p50Ms.toFixed(2)} ms | ${beside.beside.p99Ms.toFixed(2)} ms | ${beside.beside.samples} |`,
      '',
      `p99 beside ÷ without: ${ratio.toFixed(2)}× (goal ≤ 1.2×: ${ratio <= 1.2 ? 'pass' : 'FAIL'}); jobs the passes deleted (and how long each took, while the 10 s of ingestion ran): ${beside.passes.join(', ')}.`,
      `Load average (1, 5, 15 min) at start: ${formatLoad(loadAtStart)}; at end: ${formatLoad(loadavg())}.`,
    ];
    console.log(`\n${lines.join('\n')}\n`);
    return ratio <= 1.2;
  } finally {
    await db?.close();
    await sql.end();
    await database.drop();
  }
}

void exitWhenDone(main());
