/**
 * The benchmark data set: 100 flavors and a job table of a chosen size, loaded set-based in SQL.
 * The database benchmark runs on it and the planner benchmark loads the same, so both are here,
 * where SQL on the schema belongs.
 */
import type { Flavor } from '@runner-planner/core';
import pg from 'pg';

export const PLATFORM = 'github';

const ARCHES = ['x64', 'arm64'];
const SYSTEMS = ['jammy', 'noble'];
const SIZES = ['small', 'medium', 'large', 'xlarge', '2xlarge'];
const EXTRAS = ['', 'gpu', 'docker', 'edge', 'fips'];

/**
 * 100 GitHub flavors: every arch × OS × size × extra. Labels are [arch, os, size, extra?], so a job
 * asking for e.g. ["x64", "large"] is covered by ten flavors and priority (with ties) decides.
 */
export function benchFlavors(): Flavor[] {
  const flavors: Flavor[] = [];
  for (const arch of ARCHES) {
    for (const os of SYSTEMS) {
      for (const size of SIZES) {
        for (const extra of EXTRAS) {
          const i = flavors.length;
          const labels = extra ? [arch, os, size, extra] : [arch, os, size];
          flavors.push({
            platform: PLATFORM,
            name: labels.join('-'),
            labels,
            // Four priority levels spread over the flavors, so equal priorities (random pick) happen.
            priority: (((i * 37) % 11) % 4) * 10,
            isDisabled: false,
            minimumPressure: i % 10 === 0 ? 2 : 0,
          });
        }
      }
    }
  }
  return flavors;
}

/** Label sets that some flavor covers, in a fixed order: what the addJob scenario submits. */
export function matchingLabelSets(): string[][] {
  const sets: string[][] = [];
  for (const flavor of benchFlavors()) {
    const [arch = '', os = '', size = ''] = flavor.labels;
    sets.push(flavor.labels, [arch, os, size], [arch, size], [size]);
  }
  return sets;
}

/** First decimal id of each id range, so every scenario gets fresh, realistic-looking job ids. */
export const ID_BASE = {
  completed: 30_000_000_000,
  incomplete: 31_000_000_000,
  added: 40_000_000_000,
  reassign: 50_000_000_000,
  writeMix: 60_000_000_000,
} as const;

// Flavors numbered 0..n-1 in a scrambled order and a random pick skewed towards the low numbers (some flavors busy,
// some idle). The job's labels are a subset of the picked flavor's: all of them, [arch, os, size],
// [arch, size] or [size].
const PICK = `
  flavors AS MATERIALIZED (
    SELECT (row_number() OVER (ORDER BY md5(name)) - 1)::int AS idx, name, labels
    FROM flavor WHERE platform = '${PLATFORM}'),
  picks AS MATERIALIZED (
    SELECT g, floor(power(random(), 2) * (SELECT count(*) FROM flavors))::int AS idx,
           floor(random() * 4)::int AS shape, random() AS r
    FROM generate_series(1, $1::int) AS g),
  src AS MATERIALIZED (
    SELECT p.g, p.r, f.name AS flavor,
           CASE p.shape WHEN 0 THEN f.labels WHEN 1 THEN f.labels[1:3]
                        WHEN 2 THEN ARRAY[f.labels[1], f.labels[3]] ELSE ARRAY[f.labels[3]] END AS labels
    FROM picks AS p JOIN flavors AS f USING (idx))`;

const COMPLETED_JOBS = `
  WITH ${PICK}
  INSERT INTO job (platform, id, labels, created_at, started_at, completed_at, raw, assigned_flavor)
  SELECT '${PLATFORM}', ($2::bigint + g)::text, labels, created_at,
         created_at + wait, created_at + wait + run,
         jsonb_build_object('completed', jsonb_build_object('id', $2::bigint + g, 'conclusion', 'success')),
         CASE WHEN r < 0.7 THEN flavor END
  FROM (SELECT *, now() - random() * interval '90 days' AS created_at,
               random() * interval '10 minutes' AS wait, random() * interval '60 minutes' AS run
        FROM src) AS s`;

// Incomplete jobs get the flavor the assignment rule picks: enabled, same platform, labels
// covering the job's, highest priority first, random among equal priorities.
const INCOMPLETE_JOBS = `
  WITH ${PICK}
  INSERT INTO job (platform, id, labels, created_at, started_at, completed_at, raw, assigned_flavor)
  SELECT '${PLATFORM}', ($2::bigint + g)::text, s.labels, s.created_at,
         CASE WHEN s.r < 0.4 THEN s.created_at + random() * interval '5 minutes' END, NULL,
         jsonb_build_object('queued', jsonb_build_object('id', $2::bigint + g, 'run_id', g / 3)),
         a.name
  FROM (SELECT *, now() - random() * interval '6 hours' AS created_at FROM src) AS s
  CROSS JOIN LATERAL (
    SELECT f.name FROM flavor AS f
    WHERE NOT f.is_disabled AND f.platform = '${PLATFORM}' AND f.labels @> s.labels
    ORDER BY f.priority DESC, random() LIMIT 1) AS a`;

export async function loadFlavors(client: pg.ClientBase): Promise<void> {
  for (const f of benchFlavors()) {
    await client.query(
      `INSERT INTO flavor (platform, name, labels, priority, is_disabled, minimum_pressure)
       VALUES ($1, $2, $3, $4, $5, $6)`,
      [f.platform, f.name, f.labels, f.priority, f.isDisabled, f.minimumPressure],
    );
  }
}

/** How many jobs to load; `incompleteJobs` of them are still waiting or running. */
export interface BenchDataSize {
  jobs: number;
  incompleteJobs: number;
}

/** Loads the flavors and the jobs set-based, then `VACUUM ANALYZE`. */
export async function loadData(client: pg.ClientBase, config: BenchDataSize): Promise<void> {
  await client.query('SELECT setseed(0.42)');
  await loadFlavors(client);
  await client.query(COMPLETED_JOBS, [config.jobs - config.incompleteJobs, ID_BASE.completed]);
  await client.query(INCOMPLETE_JOBS, [config.incompleteJobs, ID_BASE.incomplete]);
  await client.query('VACUUM ANALYZE');
}

/** `loadData` on a connection of its own to `url`: for benchmarks outside this package. */
export async function loadDataAt(url: string, config: BenchDataSize): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await loadData(client, config);
  } finally {
    await client.end();
  }
}

/**
 * Inserts `count` incomplete jobs labelled [x64, `label`]: no flavor covers `label` yet, so they
 * stay unassigned until a flavor with it is added. Ids start after `firstId`.
 */
export async function loadUnassignedJobs(
  client: pg.ClientBase,
  count: number,
  label: string,
  firstId: number,
): Promise<void> {
  await client.query(
    `INSERT INTO job (platform, id, labels, created_at, raw)
     SELECT '${PLATFORM}', ($2::bigint + g)::text, ARRAY['x64', $3::text],
            now() - random() * interval '1 hour', jsonb_build_object('queued', jsonb_build_object('id', $2::bigint + g))
     FROM generate_series(1, $1::int) AS g`,
    [count, firstId, label],
  );
  await client.query('ANALYZE job');
}
