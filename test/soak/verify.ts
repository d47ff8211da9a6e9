import { openTestSql } from '@runner-planner/database/testing';
import type { BenchEvent, GitHubAction } from '../bench/payloads.js';

/** The database compared with what the gateway accepted, once everything has drained. */
export interface Verification {
  /** Jobs with at least one accepted event. */
  jobsExpected: number;
  jobsFound: number;
  /** Accepted events whose effect is not in the job table (row, timestamp or kept payload). */
  lostEvents: number;
  /** Jobs all three of whose events were accepted and that are not started and completed. */
  wrongFinalState: number;
  /** Rows of jobs this run never sent. */
  unexpectedJobs: number;
  /** Sum of the flavors' counters of incomplete assigned jobs (0 once every job completed). */
  incompleteAssigned: number;
  /** A few lost events, to start looking from. */
  examples: string[];
}

const ACTION_BIT: Record<GitHubAction, number> = { queued: 1, in_progress: 2, completed: 4 };
const ALL_ACTIONS = 7;

interface JobRow {
  id: string;
  started: boolean;
  completed: boolean;
  queued_payload: boolean;
  started_payload: boolean;
  completed_payload: boolean;
}

/** What a row shows, in the bits of `ACTION_BIT`: an action counts once its timestamp and payload are there. */
function recorded(row: JobRow): number {
  return (
    (row.queued_payload ? ACTION_BIT.queued : 0) |
    (row.started && row.started_payload ? ACTION_BIT.in_progress : 0) |
    (row.completed && row.completed_payload ? ACTION_BIT.completed : 0)
  );
}

export async function verifyJobs(
  databaseUrl: string,
  events: readonly BenchEvent[],
  accepted: (index: number) => boolean,
): Promise<Verification> {
  const expected = new Map<string, number>();
  events.forEach((event, index) => {
    if (!accepted(index)) return;
    const id = String(event.jobId);
    expected.set(id, (expected.get(id) ?? 0) | ACTION_BIT[event.action]);
  });

  const client = openTestSql(databaseUrl, { max: 1 });
  try {
    const { rows } = await client.query<JobRow>(`
      SELECT id, started_at IS NOT NULL AS started, completed_at IS NOT NULL AS completed,
             raw ? 'queued' AS queued_payload, raw ? 'in_progress' AS started_payload,
             raw ? 'completed' AS completed_payload
      FROM job WHERE platform = 'github'`);
    const counters = await client.query<{ total: string }>(
      'SELECT coalesce(sum(incomplete_jobs), 0) AS total FROM flavor_counter',
    );

    const found = new Map(rows.map((row) => [row.id, recorded(row)]));
    let lostEvents = 0;
    let wrongFinalState = 0;
    const examples: string[] = [];
    for (const [id, wanted] of expected) {
      const seen = found.get(id) ?? 0;
      const missing = wanted & ~seen;
      for (const [action, bit] of Object.entries(ACTION_BIT)) {
        if ((missing & bit) === 0) continue;
        lostEvents++;
        if (examples.length < 10)
          examples.push(`job ${id}: ${action} ${found.has(id) ? 'not recorded' : 'no row'}`);
      }
      if (wanted === ALL_ACTIONS && seen !== ALL_ACTIONS) wrongFinalState++;
    }
    return {
      jobsExpected: expected.size,
      jobsFound: rows.filter((row) => expected.has(row.id)).length,
      lostEvents,
      wrongFinalState,
      unexpectedJobs: rows.filter((row) => !expected.has(row.id)).length,
      incompleteAssigned: Number(counters.rows[0]?.total ?? Number.NaN),
      examples,
    };
  } finally {
    await client.end();
  }
}
