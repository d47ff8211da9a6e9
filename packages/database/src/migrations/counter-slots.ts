import { Migration } from '@mikro-orm/migrations';

/** Rows each flavor's counter is split into; a writer adds to the slot of its backend. */
const COUNTER_SLOTS = 16;

/** SQL for the counter slot the current backend adds to; every writer of a counter uses it. */
export const BACKEND_COUNTER_SLOT = `pg_backend_pid() % ${COUNTER_SLOTS}`;

/**
 * `INSERT_JOBS` of sql.ts as it stood here, in a function: the assignment lock and the insert in
 * one round trip. Each statement of a PL/pgSQL function takes a new snapshot, so the insert sees
 * every flavor change committed before the lock was granted, as the two statements of a
 * client-side transaction did. A later change to the rule replaces the function in a migration.
 */
export const INSERT_JOBS_FUNCTION = `
  CREATE FUNCTION insert_jobs(jobs jsonb, assignment_lock bigint)
  RETURNS TABLE (job_platform text, job_id text, counted boolean)
  LANGUAGE plpgsql AS $$
  BEGIN
    PERFORM pg_advisory_xact_lock_shared(assignment_lock);
    RETURN QUERY
      INSERT INTO job AS inserted (platform, id, labels, created_at, started_at, completed_at, raw, held, assigned_flavor)
      SELECT j.platform, j.id, j.labels, j.created_at, j.started_at, j.completed_at, j.raw, j.held,
             CASE WHEN j.completed_at IS NULL AND NOT j.held THEN (
               SELECT f.name FROM flavor AS f
               WHERE f.platform = j.platform AND NOT f.is_disabled AND f.labels @> j.labels
                 AND (f.run_untagged OR cardinality(j.labels) > 0)
               ORDER BY f.priority DESC, random()
               LIMIT 1)
             END
      FROM jsonb_to_recordset(jobs) AS j(platform text, id text, labels text[], created_at timestamptz,
                                         started_at timestamptz, completed_at timestamptz, raw jsonb,
                                         held boolean)
      ORDER BY j.platform, j.id
      ON CONFLICT ON CONSTRAINT job_platform_id_key DO NOTHING
      RETURNING inserted.platform, inserted.id,
                inserted.assigned_flavor IS NOT NULL AND inserted.completed_at IS NULL;
  END $$`;

/**
 * A busy flavor no longer serialises the writes of its jobs (docs/database.md, "One hot
 * flavor"). Two things did:
 *
 * - Every insert and completion added to the flavor's one counter row, and held that row's lock
 *   until its commit was flushed: on one flavor, every writer queued behind the one before.
 *   The counter is now split into `COUNTER_SLOTS` rows per flavor; a transaction adds to the slot
 *   of its backend (`pg_backend_pid() % COUNTER_SLOTS`), so concurrent writers meet only when
 *   their backends share a slot. Pressure is the sum of the slots: as exact and transactional as
 *   before.
 * - The counter triggers called `pg_notify`, and a transaction that notifies takes one
 *   cluster-wide lock at commit and holds it until its commit is flushed (PostgreSQL's async.c,
 *   PreCommit_Notify): every job write in the cluster waited for the one before. The job triggers
 *   no longer notify; `Database` signals `pressure_change` after its job writes commit, in a
 *   transaction of its own that does not wait for a flush. Flavor changes are rare and still
 *   notify from their trigger.
 *
 * And a batch of new jobs is one statement (`insert_jobs`) rather than a client-side transaction
 * of four round trips.
 */
export class CounterSlots extends Migration {
  override async up(): Promise<void> {
    this.addSql(INSERT_JOBS_FUNCTION);
    this.addSql(`ALTER TABLE flavor_counter ADD COLUMN slot smallint NOT NULL DEFAULT 0
      CHECK (slot >= 0 AND slot < ${COUNTER_SLOTS})`);
    this.addSql('ALTER TABLE flavor_counter DROP CONSTRAINT flavor_counter_pkey');
    this.addSql('ALTER TABLE flavor_counter ADD PRIMARY KEY (flavor, slot)');
    this.addSql(`
      INSERT INTO flavor_counter (flavor, slot)
      SELECT name, slot FROM flavor CROSS JOIN generate_series(1, ${COUNTER_SLOTS - 1}) AS slot`);

    // Slots are locked in flavor order, as before, so two writers that share one cannot deadlock.
    this.addSql(`
      CREATE OR REPLACE FUNCTION apply_pressure_delta(added text[], removed text[]) RETURNS void
      LANGUAGE plpgsql AS $$
      DECLARE
        delta record;
        my_slot smallint := ${BACKEND_COUNTER_SLOT};
      BEGIN
        FOR delta IN
          SELECT flavor, sum(change) AS change
          FROM (SELECT unnest(added) AS flavor, 1 AS change
                UNION ALL
                SELECT unnest(removed), -1) AS changes
          GROUP BY flavor
          HAVING sum(change) <> 0
          ORDER BY flavor
        LOOP
          UPDATE flavor_counter SET incomplete_jobs = incomplete_jobs + delta.change
          WHERE flavor = delta.flavor AND slot = my_slot;
        END LOOP;
      END $$`);
    this.addSql(`
      CREATE OR REPLACE FUNCTION flavor_after_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'INSERT' THEN
          INSERT INTO flavor_counter (flavor, slot)
          SELECT NEW.name, slot FROM generate_series(0, ${COUNTER_SLOTS - 1}) AS slot;
          PERFORM pg_notify('pressure_change', NEW.name);
        ELSIF TG_OP = 'DELETE' THEN
          PERFORM pg_notify('pressure_change', OLD.name);
        ELSIF NEW.minimum_pressure IS DISTINCT FROM OLD.minimum_pressure
           OR NEW.is_disabled IS DISTINCT FROM OLD.is_disabled THEN
          PERFORM pg_notify('pressure_change', NEW.name);
        END IF;
        RETURN NULL;
      END $$`);
  }

  override async down(): Promise<void> {
    this.addSql('DROP FUNCTION insert_jobs(jsonb, bigint)');
    this.addSql(`
      CREATE TABLE flavor_counter_total AS
      SELECT flavor, sum(incomplete_jobs)::bigint AS incomplete_jobs FROM flavor_counter GROUP BY flavor`);
    this.addSql('DELETE FROM flavor_counter WHERE slot <> 0');
    this.addSql(`
      UPDATE flavor_counter AS c SET incomplete_jobs = t.incomplete_jobs
      FROM flavor_counter_total AS t WHERE t.flavor = c.flavor`);
    this.addSql('DROP TABLE flavor_counter_total');
    this.addSql('ALTER TABLE flavor_counter DROP CONSTRAINT flavor_counter_pkey');
    this.addSql('ALTER TABLE flavor_counter DROP COLUMN slot');
    this.addSql('ALTER TABLE flavor_counter ADD PRIMARY KEY (flavor)');
    this.addSql(`
      CREATE OR REPLACE FUNCTION apply_pressure_delta(added text[], removed text[]) RETURNS void
      LANGUAGE plpgsql AS $$
      DECLARE
        delta record;
      BEGIN
        FOR delta IN
          SELECT flavor, sum(change) AS change
          FROM (SELECT unnest(added) AS flavor, 1 AS change
                UNION ALL
                SELECT unnest(removed), -1) AS changes
          GROUP BY flavor
          HAVING sum(change) <> 0
          ORDER BY flavor
        LOOP
          UPDATE flavor_counter SET incomplete_jobs = incomplete_jobs + delta.change
          WHERE flavor = delta.flavor;
          PERFORM pg_notify('pressure_change', delta.flavor);
        END LOOP;
      END $$`);
    this.addSql(`
      CREATE OR REPLACE FUNCTION flavor_after_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'INSERT' THEN
          INSERT INTO flavor_counter (flavor) VALUES (NEW.name);
          PERFORM pg_notify('pressure_change', NEW.name);
        ELSIF TG_OP = 'DELETE' THEN
          PERFORM pg_notify('pressure_change', OLD.name);
        ELSIF NEW.minimum_pressure IS DISTINCT FROM OLD.minimum_pressure
           OR NEW.is_disabled IS DISTINCT FROM OLD.is_disabled THEN
          PERFORM pg_notify('pressure_change', NEW.name);
        END IF;
        RETURN NULL;
      END $$`);
  }
}
