import type { Flavor } from '@runner-planner/core';
import { Database, migrate } from '@runner-planner/database';
import pg from 'pg';

/** Migrates a fresh database and adds the benchmark's flavors. */
export async function prepareDatabase(url: string, flavors: readonly Flavor[]): Promise<void> {
  await migrate(url);
  const db = await Database.connect(url);
  try {
    for (const flavor of flavors) await db.addFlavor(flavor);
  } finally {
    await db.close();
  }
}

/** What a run left in the job table, to check that two runs of the same events agree. */
export interface JobTableSummary {
  jobs: number;
  started: number;
  completed: number;
  /** Sum of all flavors' pressure counters: incomplete assigned jobs. */
  incompleteAssigned: number;
  /** Payloads kept in `raw`, per GitHub action: one per event recorded. */
  payloads: { queued: number; in_progress: number; completed: number };
}

export async function summarizeJobs(url: string): Promise<JobTableSummary> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<Record<string, string>>(`
      SELECT count(*) AS jobs,
             count(started_at) AS started,
             count(completed_at) AS completed,
             (SELECT coalesce(sum(incomplete_jobs), 0) FROM flavor_counter) AS incomplete_assigned,
             count(*) FILTER (WHERE raw ? 'queued') AS queued,
             count(*) FILTER (WHERE raw ? 'in_progress') AS in_progress,
             count(*) FILTER (WHERE raw ? 'completed') AS completed_payloads
      FROM job`);
    const row = rows[0] ?? {};
    return {
      jobs: Number(row.jobs),
      started: Number(row.started),
      completed: Number(row.completed),
      incompleteAssigned: Number(row.incomplete_assigned),
      payloads: {
        queued: Number(row.queued),
        in_progress: Number(row.in_progress),
        completed: Number(row.completed_payloads),
      },
    };
  } finally {
    await client.end();
  }
}
