import { Migration } from '@mikro-orm/migrations';
import { BACKEND_COUNTER_SLOT } from './counter-slots.js';

/**
 * Records a batch of job updates in one statement and one commit (docs/database.md, "Job
 * updates in batches"): what used to be one autocommit UPDATE per webhook, each paying a round
 * trip, a transaction and a WAL flush. `events` is a JSON array of
 * `{n, kind, platform, id, at, started_at, raw}`; `kind` is one of
 *
 * - `started`: sets started_at (unless set) and merges `raw`; not a held job.
 * - `completed`: sets completed_at, fills a missing started_at from `started_at`, merges `raw`;
 *   not a held job. `counted`: the job has a flavor, so a pressure may have moved.
 * - `waiting`: merges `raw`; not a held job.
 * - `merge`: merges `raw`, held jobs too.
 *
 * `raw` merges as before: each action keeps the payload it already has, and an absent `raw`
 * leaves the stored value (and its TOAST data) untouched. A held job is left alone by the first
 * three: the caller releases it under the assignment lock. Events are applied in (platform, id)
 * order, then in the order given: two batches lock the rows they share in the same order and
 * cannot deadlock, and events of one job in one batch apply as they would one after another.
 * Answers the `n` of each event that matched a row.
 *
 * Each completion's trigger adds to its flavor's counter in the backend's slot, so in job order a
 * batch would lock counters in no particular flavor order, and deadlock with a writer of the same
 * slot that locks them in flavor order (`insert_jobs`, through `apply_pressure_delta`). The batch
 * locks the counters its completions will touch first, in flavor order, as every other writer
 * does. A flavor re-assigned in between is the rare case left to the caller's deadlock retry.
 */
const RECORD_JOB_EVENTS_FUNCTION = `
  CREATE FUNCTION record_job_events(events jsonb)
  RETURNS TABLE (event integer, counted boolean)
  LANGUAGE plpgsql AS $$
  DECLARE
    e record;
  BEGIN
    PERFORM 1 FROM flavor_counter AS c
    WHERE c.slot = ${BACKEND_COUNTER_SLOT}
      AND c.flavor IN (
        SELECT j.assigned_flavor
        FROM jsonb_to_recordset(events) AS x(kind text, platform text, id text)
        JOIN job AS j ON j.platform = x.platform AND j.id = x.id
        WHERE x.kind = 'completed' AND j.assigned_flavor IS NOT NULL AND j.completed_at IS NULL)
    ORDER BY c.flavor
    FOR NO KEY UPDATE OF c;
    FOR e IN
      SELECT * FROM jsonb_to_recordset(events)
        AS x(n integer, kind text, platform text, id text, at timestamptz, started_at timestamptz, raw jsonb)
      ORDER BY x.platform, x.id, x.n
    LOOP
      event := e.n;
      counted := false;
      IF e.kind = 'started' THEN
        UPDATE job SET started_at = COALESCE(started_at, e.at),
          raw = CASE WHEN e.raw IS NULL THEN raw ELSE e.raw || raw END, updated_at = now()
        WHERE platform = e.platform AND id = e.id AND NOT held;
      ELSIF e.kind = 'completed' THEN
        UPDATE job SET completed_at = COALESCE(completed_at, e.at),
          started_at = COALESCE(started_at, e.started_at),
          raw = CASE WHEN e.raw IS NULL THEN raw ELSE e.raw || raw END, updated_at = now()
        WHERE platform = e.platform AND id = e.id AND NOT held
        RETURNING assigned_flavor IS NOT NULL INTO counted;
      ELSIF e.kind = 'waiting' THEN
        UPDATE job SET raw = CASE WHEN e.raw IS NULL THEN raw ELSE e.raw || raw END, updated_at = now()
        WHERE platform = e.platform AND id = e.id AND NOT held;
      ELSIF e.kind = 'merge' THEN
        UPDATE job SET raw = CASE WHEN e.raw IS NULL THEN raw ELSE e.raw || raw END, updated_at = now()
        WHERE platform = e.platform AND id = e.id;
      ELSE
        RAISE EXCEPTION 'record_job_events: unknown kind %', e.kind USING ERRCODE = 'invalid_parameter_value';
      END IF;
      IF FOUND THEN
        RETURN NEXT;
      END IF;
    END LOOP;
  END $$`;

export class JobEventBatches extends Migration {
  override async up(): Promise<void> {
    this.addSql(RECORD_JOB_EVENTS_FUNCTION);
  }

  override async down(): Promise<void> {
    this.addSql('DROP FUNCTION record_job_events(jsonb)');
  }
}
