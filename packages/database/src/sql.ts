/**
 * The SQL the ORM cannot express: array containment, JSONB merge and set-based assignment.
 * Placeholders are knex-style `?`; arrays travel as JSON text because knex would expand a JS
 * array parameter into a comma list.
 */

/**
 * A flavor aliased `f` can run jobs with the labels `labels`: it covers them, and an untagged
 * job only goes to a flavor that takes untagged jobs (GitLab's `run_untagged`; always true on
 * other platforms). The same rule as core's `flavorFitsJob`.
 */
const fits = (labels: string) =>
  `NOT f.is_disabled AND f.labels @> ${labels} AND (f.run_untagged OR cardinality(${labels}) > 0)`;

/** The best enabled flavor for the job row aliased `j`: highest priority, random among equals. */
const bestFlavor = `(
  SELECT f.name FROM flavor AS f
  WHERE f.platform = j.platform AND ${fits('j.labels')}
  ORDER BY f.priority DESC, random()
  LIMIT 1)`;

/** Blocks flavor changes while jobs are being inserted (shared) and vice versa (exclusive). */
export const ASSIGNMENT_LOCK_KEY = 7_304_171_524;
export const LOCK_FOR_JOB_INSERT = 'SELECT pg_advisory_xact_lock_shared(?)';
export const LOCK_FOR_FLAVOR_CHANGE = 'SELECT pg_advisory_xact_lock(?)';

/**
 * Inserts a batch of jobs given as a JSON array ($1), under the assignment lock ($2): returns the
 * (platform, id) of rows inserted and whether each counts toward a pressure. The statement is
 * the `insert_jobs` function of the counter-slots migration (one round trip, see there).
 */
export const INSERT_JOBS = {
  name: 'runner_planner_insert_jobs',
  text: 'SELECT job_platform AS platform, job_id AS id, counted FROM insert_jobs($1::jsonb, $2::bigint)',
};

/**
 * A batch of job updates, given as a JSON array ($1): the `record_job_events` function of the
 * job-event-batches migration (one statement and one commit for the batch; see there). Answers
 * the `event` index of each update that matched a row, and whether a pressure may have moved.
 */
export const RECORD_JOB_EVENTS = {
  name: 'runner_planner_record_job_events',
  text: 'SELECT event, counted FROM record_job_events($1::jsonb)',
};

/**
 * A set timestamp is never moved by a later duplicate, and `raw` keeps the payload it already
 * has for an action: the row ends the same whatever the order or repetition of events. `raw`
 * is assigned only when a payload is given: an unchanged value keeps its stored TOAST data,
 * where `'{}' || raw` would decompress, rewrite and recompress all of it. The same rules as
 * `record_job_events`, for the held jobs it leaves to these.
 */
const mergeRaw = (parameter: string) =>
  `raw = CASE WHEN ${parameter}::jsonb IS NULL THEN raw ELSE ${parameter}::jsonb || raw END`;

const setStarted = (startedAt: string, raw: string) =>
  `started_at = COALESCE(started_at, ${startedAt}::timestamptz), ${mergeRaw(raw)}, updated_at = now()`;
const setCompleted = (completedAt: string, raw: string, startedAt: string) =>
  `completed_at = COALESCE(completed_at, ${completedAt}::timestamptz),
   started_at = COALESCE(started_at, ${startedAt}::timestamptz), ${mergeRaw(raw)}, updated_at = now()`;

/** A held, incomplete job that is now offered to runners gets the best flavor that fits it. */
const releasedAssignment = `assigned_flavor = CASE WHEN j.held AND j.completed_at IS NULL
    THEN ${bestFlavor} ELSE j.assigned_flavor END,
  released_at = CASE WHEN j.held THEN now() ELSE j.released_at END, held = false`;

/** Knex placeholders: raw or null (twice), platform, id. */
export const RELEASE_JOB_WAITING = `
  UPDATE job AS j SET ${mergeRaw('?')}, updated_at = now(), ${releasedAssignment}
  WHERE j.platform = ? AND j.id = ?
  RETURNING 1 AS found`;

/** Knex placeholders: startedAt, raw or null (twice), platform, id. */
export const RELEASE_JOB_STARTED = `
  UPDATE job AS j SET ${setStarted('?', '?')}, ${releasedAssignment}
  WHERE j.platform = ? AND j.id = ?
  RETURNING 1 AS found`;

/** Knex placeholders: completedAt, startedAt or null, raw or null (twice), platform, id. A job that ends is not held. */
export const RELEASE_JOB_COMPLETED = `
  UPDATE job AS j SET ${setCompleted('?', '?', '?')},
    released_at = CASE WHEN j.held THEN now() ELSE j.released_at END, held = false
  WHERE j.platform = ? AND j.id = ?
  RETURNING 1 AS found`;

/**
 * Incomplete jobs per platform by phase, and those waiting or running that no flavor takes
 * (within the staleness window: $1 ms). Each part of the UNION matches one partial index on
 * incomplete jobs (assigned, unassigned, held), so only incomplete jobs are read.
 */
export const COUNT_INCOMPLETE_JOBS = {
  name: 'runner_planner_count_incomplete_jobs',
  text: `
    SELECT platform, sum(held)::integer AS held, sum(queued)::integer AS queued,
           sum(running)::integer AS running, sum(unassigned)::integer AS unassigned
    FROM (
      SELECT platform, 0 AS held, count(*) FILTER (WHERE started_at IS NULL) AS queued,
             count(*) FILTER (WHERE started_at IS NOT NULL) AS running, 0 AS unassigned
      FROM job WHERE completed_at IS NULL AND assigned_flavor IS NOT NULL GROUP BY platform
      UNION ALL
      SELECT platform, 0, count(*) FILTER (WHERE started_at IS NULL), count(*) FILTER (WHERE started_at IS NOT NULL),
             count(*) FILTER (WHERE COALESCE(released_at, created_at) > now() - $1::double precision * interval '1 millisecond')
      FROM job WHERE completed_at IS NULL AND assigned_flavor IS NULL AND NOT held GROUP BY platform
      UNION ALL
      SELECT platform, count(*), 0, 0, 0
      FROM job WHERE completed_at IS NULL AND held GROUP BY platform
    ) AS counts
    GROUP BY platform ORDER BY platform`,
};

/**
 * Keys of the jobs reconciliation should look up (see `Database.listStaleJobs`). Knex
 * placeholders: after-key, stale cut-off, held cut-off, now, limit. A held job last looked up
 * at `checked_at` is due again once its age doubled since: checked_at < updated_at + (now - updated_at) / 2.
 */
export const SELECT_STALE_JOBS = `
  SELECT pk FROM job
  WHERE completed_at IS NULL AND pk > ?::bigint
    AND CASE WHEN NOT held THEN updated_at < ?::timestamptz
             ELSE updated_at < ?::timestamptz
                  AND (checked_at IS NULL
                       OR checked_at < updated_at + (?::timestamptz - updated_at) / 2)
        END
  ORDER BY pk
  LIMIT ?`;

/** Knex placeholders: platform, id, the updated_at the job was read with (as a JS Date: milliseconds). */
export const HOLD_JOB = `
  UPDATE job SET held = true, assigned_flavor = NULL, checked_at = now()
  WHERE platform = ? AND id = ? AND date_trunc('milliseconds', updated_at) = ?::timestamptz
    AND NOT held AND started_at IS NULL AND completed_at IS NULL
  RETURNING 1 AS found`;

/** Knex placeholders: platform, id. Reconciliation found the held job as it was. */
export const MARK_JOB_CHECKED = 'UPDATE job SET checked_at = now() WHERE platform = ? AND id = ?';

/**
 * The top-priority candidate flavors for each distinct label set among the jobs `targets`
 * selects, excluding one flavor name (or none). Label sets are normalised (sorted, lowercase),
 * so equal sets are equal arrays; a bulk re-assignment then matches once per label set, not once
 * per job, and still draws a random candidate per job.
 */
const candidatesByLabels = (targets: string) => `
  label_sets AS (SELECT DISTINCT j.platform, j.labels FROM job AS j WHERE ${targets}),
  ranked AS (
    SELECT s.platform, s.labels, f.name, rank() OVER (PARTITION BY s.platform, s.labels ORDER BY f.priority DESC) AS place
    FROM label_sets AS s
    JOIN flavor AS f ON f.platform = s.platform AND ${fits('s.labels')}
    WHERE f.name IS DISTINCT FROM ?
  ),
  candidates AS (
    SELECT platform, labels, array_agg(name) AS names FROM ranked WHERE place = 1 GROUP BY platform, labels
  )`;

const pickCandidate = 'c.names[1 + floor(random() * cardinality(c.names))::integer]';

/** Gives the waiting jobs of a platform that `labels` covers the best flavor now available. */
const waitingJobsCoveredBy = `j.platform = ? AND j.assigned_flavor IS NULL AND j.completed_at IS NULL
    AND NOT j.held AND j.labels <@ ARRAY(SELECT jsonb_array_elements_text(?::jsonb))`;
export const ASSIGN_UNASSIGNED_JOBS = `
  WITH ${candidatesByLabels(waitingJobsCoveredBy)}
  UPDATE job AS j SET assigned_flavor = ${pickCandidate}
  FROM candidates AS c
  WHERE ${waitingJobsCoveredBy} AND j.platform = c.platform AND j.labels = c.labels`;

/**
 * Moves a flavor's open jobs to the next best flavor, or leaves them waiting when there is none,
 * and releases its completed ones.
 */
export const RELEASE_JOBS_OF_FLAVOR = 'UPDATE job SET assigned_flavor = NULL WHERE assigned_flavor = ?';
export const REASSIGN_JOBS_OF_FLAVOR = `
  WITH ${candidatesByLabels('j.assigned_flavor = ? AND j.completed_at IS NULL')}
  UPDATE job AS j SET assigned_flavor = ${pickCandidate}
  FROM candidates AS c
  WHERE j.assigned_flavor = ? AND j.completed_at IS NULL AND j.platform = c.platform AND j.labels = c.labels`;

export const SET_FLAVOR_DISABLED = `
  UPDATE flavor SET is_disabled = ? WHERE platform = ? AND name = ? RETURNING 1 AS found`;

export const DELETE_FLAVOR = 'DELETE FROM flavor WHERE platform = ? AND name = ?';

/**
 * Pressure from the maintained counters (the sum of each flavor's slots), less the incomplete
 * jobs past the staleness window (found through a partial index). Named prepared statements with
 * `$n` parameters, since this is the hottest read: $1 platform, $2 JSON array of names or null
 * for every flavor, $3 window in ms. `counters` joins each wanted flavor `w` to its sum `c`.
 */
const selectPressures = (counters: string) => `
    WITH wanted AS (
      SELECT f.name, f.minimum_pressure FROM flavor AS f
      WHERE f.platform = $1 AND ($2::jsonb IS NULL OR f.name IN (SELECT jsonb_array_elements_text($2::jsonb)))
    ), stale AS (
      SELECT j.assigned_flavor, count(*) AS jobs FROM job AS j
      WHERE j.completed_at IS NULL AND j.assigned_flavor IS NOT NULL
        AND COALESCE(j.released_at, j.created_at) <= now() - $3::double precision * interval '1 millisecond'
        AND j.assigned_flavor IN (SELECT name FROM wanted)
      GROUP BY j.assigned_flavor
    )
    SELECT w.name, GREATEST(w.minimum_pressure, c.incomplete_jobs - COALESCE(s.jobs, 0))::integer AS pressure
    FROM wanted AS w
    ${counters}
    LEFT JOIN stale AS s ON s.assigned_flavor = w.name`;

/** Named flavors: each one's slots through the primary key. */
export const SELECT_PRESSURES = {
  name: 'runner_planner_select_pressures',
  text: selectPressures(`CROSS JOIN LATERAL (
      SELECT sum(c.incomplete_jobs) AS incomplete_jobs FROM flavor_counter AS c WHERE c.flavor = w.name
    ) AS c`),
};

/** Every flavor: one pass over all the slots beats an index probe per flavor. */
export const SELECT_ALL_PRESSURES = {
  name: 'runner_planner_select_all_pressures',
  text: selectPressures(`JOIN (
      SELECT flavor, sum(incomplete_jobs) AS incomplete_jobs FROM flavor_counter GROUP BY flavor
    ) AS c ON c.flavor = w.name`),
};

/** Assigned jobs started in [$1, $2): the rows of the waiting report. */
const STARTED_ASSIGNED_IN_RANGE = 'started_at >= $1 AND started_at < $2 AND assigned_flavor IS NOT NULL';

export const COUNT_STARTED_JOBS = `SELECT count(*)::integer AS jobs FROM job WHERE ${STARTED_ASSIGNED_IN_RANGE}`;

/**
 * Each job's wait for a runner (created → started, in seconds, never negative) by UTC day and
 * platform, sorted so a reader holds one (day, platform) group at a time.
 */
export const SELECT_WAITING_TIMES = `
  SELECT to_char(date_trunc('day', started_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD') AS day,
         platform,
         greatest(extract(epoch FROM started_at - created_at), 0)::float8 AS waiting
    FROM job
   WHERE ${STARTED_ASSIGNED_IN_RANGE}
   ORDER BY 1, 2, 3`;

/**
 * $1 cutoff, $2 batch size: deletes at most a batch of jobs completed before the cutoff, oldest
 * first, that were also last written before it: a late or replayed webhook of an old job (the
 * forge's `completed_at` is old, the row is new) keeps its row for the whole retention. SKIP
 * LOCKED: a row a webhook is writing is left for the next batch rather than waited for. A
 * completed job counts toward no pressure, so the delete trigger changes no counter.
 */
export const DELETE_JOBS_COMPLETED_BEFORE = {
  name: 'runner_planner_delete_jobs_completed_before',
  text: `
    DELETE FROM job WHERE pk IN (
      SELECT pk FROM job WHERE completed_at < $1 AND updated_at < $1
      ORDER BY completed_at LIMIT $2
      FOR UPDATE SKIP LOCKED)`,
};

/** $1 cutoff, $2 batch size: the same for the payloads of jobs completed before the cutoff. */
export const DROP_RAW_COMPLETED_BEFORE = {
  name: 'runner_planner_drop_raw_completed_before',
  text: `
    UPDATE job SET raw = '{}'::jsonb, raw_dropped = true WHERE pk IN (
      SELECT pk FROM job WHERE completed_at < $1 AND updated_at < $1 AND NOT raw_dropped
      ORDER BY completed_at LIMIT $2
      FOR UPDATE SKIP LOCKED)`,
};
