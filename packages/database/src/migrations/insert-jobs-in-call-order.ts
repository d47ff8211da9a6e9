import { Migration } from '@mikro-orm/migrations';
import { INSERT_JOBS_FUNCTION } from './counter-slots.js';

/**
 * `insert_jobs` stores the first call of a batch for each job, as its caller assumes: the
 * caller tells that call "inserted" and every later call for the job "exists" (they go on to
 * update the row). The function of the counter-slots migration sorted by (platform, id) alone,
 * and PostgreSQL's sort does not keep the order of equal keys: two inserts of one new job in a
 * batch (a job's pending and completion redelivered together) could store the second call's
 * payload while the first was told it was stored, and the first event was lost.
 *
 * The position of each call in `jobs` now decides: one row per job, the earliest call's. The
 * signature and answer are unchanged, so a worker of the previous release works against it.
 */
const INSERT_JOBS_IN_CALL_ORDER = `
  CREATE OR REPLACE FUNCTION insert_jobs(jobs jsonb, assignment_lock bigint)
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
      FROM (
        SELECT DISTINCT ON (call.platform, call.id) call.*
        FROM jsonb_array_elements(jobs) WITH ORDINALITY AS element(job, position)
        CROSS JOIN LATERAL jsonb_to_record(element.job) AS call(
          platform text, id text, labels text[], created_at timestamptz, started_at timestamptz,
          completed_at timestamptz, raw jsonb, held boolean)
        ORDER BY call.platform, call.id, element.position
      ) AS j
      -- Rows are locked in key order, so two batches cannot deadlock on the jobs they share.
      ORDER BY j.platform, j.id
      ON CONFLICT ON CONSTRAINT job_platform_id_key DO NOTHING
      RETURNING inserted.platform, inserted.id,
                inserted.assigned_flavor IS NOT NULL AND inserted.completed_at IS NULL;
  END $$`;

export class InsertJobsInCallOrder extends Migration {
  override async up(): Promise<void> {
    this.addSql(INSERT_JOBS_IN_CALL_ORDER);
  }

  override async down(): Promise<void> {
    this.addSql(INSERT_JOBS_FUNCTION.replace('CREATE FUNCTION', 'CREATE OR REPLACE FUNCTION'));
  }
}
