import { Migration } from '@mikro-orm/migrations';

/**
 * Tables, indexes and the triggers that keep pressure exact and cheap to read.
 *
 * Counting a flavor's incomplete jobs on every read costs milliseconds at 50,000 incomplete
 * jobs, so each flavor keeps a counter (`flavor_counter`) maintained by statement-level
 * triggers on `job`: every write path, present or future, set-based or not, updates it in the
 * same transaction, and notifies `pressure_change` only when a count actually moved.
 */
export class InitialSchema extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      CREATE TABLE flavor (
        name             text        PRIMARY KEY CHECK (name <> '' AND name NOT IN ('_', '-')),
        platform         text        NOT NULL CHECK (platform <> ''),
        labels           text[]      NOT NULL DEFAULT '{}',
        priority         integer     NOT NULL DEFAULT 0,
        is_disabled      boolean     NOT NULL DEFAULT false,
        minimum_pressure integer     NOT NULL DEFAULT 0 CHECK (minimum_pressure >= 0),
        created_at       timestamptz NOT NULL DEFAULT now()
      )`);
    this.addSql('CREATE INDEX flavor_platform_idx ON flavor (platform)');

    this.addSql(`
      CREATE TABLE flavor_counter (
        flavor          text   PRIMARY KEY REFERENCES flavor (name) ON DELETE CASCADE,
        incomplete_jobs bigint NOT NULL DEFAULT 0
      )`);

    this.addSql(`
      CREATE TABLE job (
        pk              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        platform        text        NOT NULL CHECK (platform <> ''),
        id              text        NOT NULL CHECK (id <> ''),
        labels          text[]      NOT NULL DEFAULT '{}',
        created_at      timestamptz NOT NULL,
        started_at      timestamptz,
        completed_at    timestamptz,
        raw             jsonb       NOT NULL DEFAULT '{}',
        -- No foreign key: flavor changes hold an exclusive lock against job inserts and move a
        -- flavor's jobs off it before deleting it, and a per-row key check would double the cost
        -- of re-assigning 100,000 jobs at once.
        assigned_flavor text,
        updated_at      timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT job_platform_id_key UNIQUE (platform, id)
      )`);
    // listJobs: a platform's jobs in creation order.
    this.addSql('CREATE INDEX job_platform_created_idx ON job (platform, created_at)');
    // Moving a flavor's jobs when it is disabled or deleted.
    this.addSql('CREATE INDEX job_assigned_flavor_idx ON job (assigned_flavor)');
    // Pressure reads subtract the incomplete jobs past the staleness window: normally a handful.
    this.addSql(`
      CREATE INDEX job_incomplete_age_idx ON job (created_at) INCLUDE (assigned_flavor)
      WHERE completed_at IS NULL AND assigned_flavor IS NOT NULL`);
    // Jobs waiting for a flavor that matches them, re-matched when flavors appear.
    this.addSql(`
      CREATE INDEX job_unassigned_idx ON job (platform)
      WHERE completed_at IS NULL AND assigned_flavor IS NULL`);

    this.addSql(`
      CREATE TABLE auth_token (
        name       text        PRIMARY KEY CHECK (name <> ''),
        token_hash bytea       NOT NULL UNIQUE CHECK (length(token_hash) = 32),
        created_at timestamptz NOT NULL DEFAULT now()
      )`);

    // Locks counters in name order so concurrent writers cannot deadlock on them.
    this.addSql(`
      CREATE FUNCTION apply_pressure_delta(added text[], removed text[]) RETURNS void
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
      CREATE FUNCTION job_counts_after_insert() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM apply_pressure_delta(
          ARRAY(SELECT assigned_flavor FROM new_rows
                WHERE assigned_flavor IS NOT NULL AND completed_at IS NULL),
          '{}');
        RETURN NULL;
      END $$`);
    this.addSql(`
      CREATE FUNCTION job_counts_after_update() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM apply_pressure_delta(
          ARRAY(SELECT assigned_flavor FROM new_rows
                WHERE assigned_flavor IS NOT NULL AND completed_at IS NULL),
          ARRAY(SELECT assigned_flavor FROM old_rows
                WHERE assigned_flavor IS NOT NULL AND completed_at IS NULL));
        RETURN NULL;
      END $$`);
    this.addSql(`
      CREATE FUNCTION job_counts_after_delete() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM apply_pressure_delta(
          '{}',
          ARRAY(SELECT assigned_flavor FROM old_rows
                WHERE assigned_flavor IS NOT NULL AND completed_at IS NULL));
        RETURN NULL;
      END $$`);
    this.addSql(`
      CREATE TRIGGER job_counts_insert AFTER INSERT ON job
      REFERENCING NEW TABLE AS new_rows
      FOR EACH STATEMENT EXECUTE FUNCTION job_counts_after_insert()`);
    this.addSql(`
      CREATE TRIGGER job_counts_update AFTER UPDATE ON job
      REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
      FOR EACH STATEMENT EXECUTE FUNCTION job_counts_after_update()`);
    this.addSql(`
      CREATE TRIGGER job_counts_delete AFTER DELETE ON job
      REFERENCING OLD TABLE AS old_rows
      FOR EACH STATEMENT EXECUTE FUNCTION job_counts_after_delete()`);

    this.addSql(`
      CREATE FUNCTION flavor_after_change() RETURNS trigger LANGUAGE plpgsql AS $$
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
    this.addSql(`
      CREATE TRIGGER flavor_change AFTER INSERT OR UPDATE OR DELETE ON flavor
      FOR EACH ROW EXECUTE FUNCTION flavor_after_change()`);
  }

  override async down(): Promise<void> {
    this.addSql('DROP TABLE IF EXISTS job, flavor_counter, flavor, auth_token CASCADE');
    this.addSql('DROP FUNCTION IF EXISTS apply_pressure_delta(text[], text[])');
    this.addSql('DROP FUNCTION IF EXISTS job_counts_after_insert(), job_counts_after_update()');
    this.addSql('DROP FUNCTION IF EXISTS job_counts_after_delete(), flavor_after_change()');
  }
}
