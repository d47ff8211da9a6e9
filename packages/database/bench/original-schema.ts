import type pg from 'pg';

export const ORIGINAL_SCHEMA = 'original';

/**
 * The original system's tables as its migrations left them (no secondary indexes, no counters, no
 * triggers), in their own schema, holding a copy of the loaded data. Running the baseline SQL here
 * as well as on our tables separates what the SQL costs from what our schema changes.
 */
export async function createOriginalSchema(client: pg.ClientBase): Promise<void> {
  const s = ORIGINAL_SCHEMA;
  await client.query(`CREATE SCHEMA ${s}`);
  await client.query(`
    CREATE TABLE ${s}.flavor (
      pk bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      platform text NOT NULL,
      name text NOT NULL UNIQUE,
      labels text[] NOT NULL DEFAULT '{}',
      priority int NOT NULL DEFAULT 0,
      is_disabled boolean NOT NULL DEFAULT false,
      minimum_pressure int NOT NULL DEFAULT 0,
      UNIQUE (platform, name),
      CHECK (platform <> '' AND name <> '' AND name <> '-'))`);
  await client.query(`
    CREATE TABLE ${s}.job (
      pk bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      platform text NOT NULL,
      id text NOT NULL,
      labels text[] NOT NULL DEFAULT '{}',
      created_at timestamptz NOT NULL,
      started_at timestamptz,
      completed_at timestamptz,
      raw jsonb NOT NULL DEFAULT '{}',
      assigned_flavor text REFERENCES ${s}.flavor (name),
      UNIQUE (platform, id),
      CHECK (platform <> '' AND id <> ''))`);
  await client.query(`
    INSERT INTO ${s}.flavor (platform, name, labels, priority, is_disabled, minimum_pressure)
    SELECT platform, name, labels, priority, is_disabled, minimum_pressure FROM public.flavor`);
  await client.query(`
    INSERT INTO ${s}.job (platform, id, labels, created_at, started_at, completed_at, raw, assigned_flavor)
    SELECT platform, id, labels, created_at, started_at, completed_at, raw, assigned_flavor
    FROM public.job ORDER BY pk`);
  await client.query(`VACUUM ANALYZE ${s}.flavor, ${s}.job`);
}
