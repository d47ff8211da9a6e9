import type pg from 'pg';
import type { Flavor, NewJob } from '../src/index.js';

// The original system's SQL (github-runner-operators, internal/database), with its named
// parameters written positionally. Tables are unqualified: the pool's search_path picks them.

const PRESSURES = `
  SELECT f.name AS flavor, GREATEST(f.minimum_pressure, COUNT(j.pk)) AS pressure
  FROM flavor AS f
  LEFT JOIN job AS j
    ON f.platform = j.platform AND j.assigned_flavor = f.name AND j.completed_at IS NULL
  WHERE f.platform = $1`;
const GROUP = ' GROUP BY f.name, f.priority, f.minimum_pressure';

const ADD_JOB = `
  INSERT INTO job (platform, id, labels, created_at, started_at, completed_at, raw, assigned_flavor)
  SELECT $1, $2, $3, $4, $5, $6, $7,
    CASE WHEN $6::timestamptz IS NULL THEN (
      SELECT f.name FROM flavor AS f
      WHERE f.is_disabled = FALSE AND f.platform = $1 AND f.labels @> $3
      ORDER BY f.priority DESC, random() LIMIT 1)
    ELSE NULL END
  ON CONFLICT (platform, id) DO NOTHING`;

const mergeRaw = "raw = COALESCE(job.raw, '{}'::jsonb) || COALESCE($2::jsonb, '{}'::jsonb)";
const UPDATE_STARTED = `UPDATE job SET started_at = $1, ${mergeRaw} WHERE platform = $3 AND id = $4`;
const UPDATE_COMPLETED = `UPDATE job SET completed_at = $1, ${mergeRaw} WHERE platform = $3 AND id = $4`;

const ADD_FLAVOR = `
  INSERT INTO flavor (platform, name, labels, priority, is_disabled, minimum_pressure)
  VALUES ($1, $2, $3, $4, $5, $6)
  ON CONFLICT (name) DO NOTHING`;

const REASSIGN = `
  UPDATE job AS j
  SET assigned_flavor = (SELECT f.name FROM flavor AS f
                         WHERE f.is_disabled = FALSE AND f.platform = j.platform AND f.labels @> j.labels
                         ORDER BY f.priority DESC, random() LIMIT 1)
  WHERE j.assigned_flavor IS NULL AND j.completed_at IS NULL
    AND EXISTS (SELECT 1 FROM flavor AS f
                WHERE f.is_disabled = FALSE AND f.platform = j.platform AND f.labels @> j.labels)`;

export async function baselineGetPressures(
  pool: pg.Pool,
  platform: string,
  ...flavors: string[]
): Promise<Record<string, number>> {
  const result =
    flavors.length > 0
      ? await pool.query<{ flavor: string; pressure: string }>(`${PRESSURES} AND f.name = ANY($2)${GROUP}`, [
          platform,
          flavors,
        ])
      : await pool.query<{ flavor: string; pressure: string }>(`${PRESSURES}${GROUP}`, [platform]);
  const pressures: Record<string, number> = {};
  for (const row of result.rows) pressures[row.flavor] = Number(row.pressure);
  return pressures;
}

export async function baselineAddJob(pool: pg.Pool, job: NewJob): Promise<void> {
  const result = await pool.query(ADD_JOB, [
    job.platform,
    job.id,
    job.labels,
    job.createdAt,
    job.startedAt,
    job.completedAt,
    JSON.stringify(job.raw),
  ]);
  if (result.rowCount === 0) throw new Error(`job ${job.platform}/${job.id} already exists`);
}

async function baselineUpdateJob(
  pool: pg.Pool,
  statement: string,
  platform: string,
  id: string,
  at: Date,
  raw: Record<string, unknown>,
): Promise<void> {
  const result = await pool.query(statement, [at, JSON.stringify(raw), platform, id]);
  if (result.rowCount === 0) throw new Error(`job ${platform}/${id} does not exist`);
}

export const baselineUpdateJobStarted = (
  pool: pg.Pool,
  platform: string,
  id: string,
  at: Date,
  raw: Record<string, unknown>,
) => baselineUpdateJob(pool, UPDATE_STARTED, platform, id, at, raw);

export const baselineUpdateJobCompleted = (
  pool: pg.Pool,
  platform: string,
  id: string,
  at: Date,
  raw: Record<string, unknown>,
) => baselineUpdateJob(pool, UPDATE_COMPLETED, platform, id, at, raw);

/** The original sends both statements as one batch, which PostgreSQL runs as one transaction. */
export async function baselineAddFlavor(pool: pg.Pool, flavor: Flavor): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const inserted = await client.query(ADD_FLAVOR, [
      flavor.platform,
      flavor.name,
      flavor.labels,
      flavor.priority,
      flavor.isDisabled,
      flavor.minimumPressure,
    ]);
    if (inserted.rowCount === 0) throw new Error(`flavor ${flavor.name} already exists`);
    await client.query(REASSIGN);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  } finally {
    client.release();
  }
}
