import type { Database } from '@runner-planner/database';
import { openTestSql } from '@runner-planner/database/testing';
import { queueJobId } from '@runner-planner/queue';
import type { Platform, StreamEvent, StreamPlan, TruthJob } from './truth.js';

/** The database compared with the truth. Every count is 0 when they agree. */
export interface Comparison {
  /** Accepted events (2xx) whose payload is not in their job's `raw`: the event was dropped. */
  lostEvents: number;
  /** Jobs with an accepted event but no row (their events are in lostEvents too). */
  missingJobs: number;
  /** Rows beyond one per job, plus rows for jobs never sent. */
  extraRows: number;
  /** Jobs whose started/completed time or flavor differs from the truth. */
  wrongJobs: number;
  /** Sum over flavors of pressure above the truth … */
  pressureOver: number;
  /** … and below it (each net per flavor; wrongJobs says which jobs). */
  pressureUnder: number;
  /** Pressure above the number of distinct open jobs the database holds for the flavor: a job counted twice. */
  pressureDoubleCounted: number;
  /** A few differences, to say what went wrong when something did. */
  examples: string[];
  /** Queue job ids of the first lost events, to look them up when the run does not converge. */
  lostQueueJobs: string[];
}

interface JobRow {
  platform: Platform;
  id: string;
  started_at: Date | null;
  completed_at: Date | null;
  assigned_flavor: string | null;
  raw_keys: string[];
}

const MAX_EXAMPLES = 8;

/** Reads every job row and every pressure, and says how far they are from the truth. */
export async function compareWithTruth(
  databaseUrl: string,
  db: Database,
  plan: StreamPlan,
  accepted: ReadonlySet<StreamEvent>,
): Promise<Comparison> {
  const rows = await readJobRows(databaseUrl);
  const result: Comparison = {
    lostEvents: 0,
    missingJobs: 0,
    extraRows: 0,
    wrongJobs: 0,
    pressureOver: 0,
    pressureUnder: 0,
    pressureDoubleCounted: 0,
    examples: [],
    lostQueueJobs: [],
  };
  const note = (text: string) => {
    if (result.examples.length < MAX_EXAMPLES) result.examples.push(text);
  };
  const lose = (lost: StreamEvent[]) => {
    result.lostEvents += lost.length;
    for (const event of lost) {
      if (result.lostQueueJobs.length < MAX_EXAMPLES)
        result.lostQueueJobs.push(queueJobId(event.job.platform, event.deliveryId));
    }
  };

  const rowsByJob = new Map<string, JobRow[]>();
  for (const row of rows) {
    const key = `${row.platform}/${row.id}`;
    rowsByJob.set(key, [...(rowsByJob.get(key) ?? []), row]);
  }
  const acceptedByJob = new Map<TruthJob, StreamEvent[]>();
  for (const event of accepted)
    acceptedByJob.set(event.job, [...(acceptedByJob.get(event.job) ?? []), event]);

  for (const job of plan.jobs) {
    const key = `${job.platform}/${job.id}`;
    const found = rowsByJob.get(key) ?? [];
    rowsByJob.delete(key);
    const events = acceptedByJob.get(job) ?? [];
    if (found.length > 1) {
      result.extraRows += found.length - 1;
      note(`${key}: ${found.length} rows`);
    }
    const row = found[0];
    if (row === undefined) {
      if (events.length > 0) {
        result.missingJobs += 1;
        lose(events);
        note(`${key}: no row, ${events.map((e) => e.rawKey).join('+')} accepted`);
      }
      continue;
    }
    for (const event of events) {
      if (!row.raw_keys.includes(event.rawKey)) {
        lose([event]);
        note(`${key}: accepted ${event.rawKey} not applied (raw has ${row.raw_keys.join(', ')})`);
      }
    }
    const problems = differences(job, row);
    if (problems.length > 0) {
      result.wrongJobs += 1;
      note(`${key}: ${problems.join('; ')}`);
    }
  }
  for (const [key, strays] of rowsByJob) {
    result.extraRows += strays.length;
    note(`${key}: ${strays.length} rows for a job never sent`);
  }

  const openJobs = new Map<string, Set<string>>();
  for (const row of rows) {
    if (row.completed_at !== null || row.assigned_flavor === null) continue;
    const jobs = openJobs.get(row.assigned_flavor) ?? new Set<string>();
    openJobs.set(row.assigned_flavor, jobs.add(`${row.platform}/${row.id}`));
  }
  for (const platform of ['github', 'gitlab'] as const) {
    const actual = await db.getPressures(platform);
    for (const [flavor, expected] of Object.entries(plan.pressures[platform])) {
      const value = actual[flavor] ?? 0;
      const held = openJobs.get(flavor)?.size ?? 0;
      if (value > held) {
        result.pressureDoubleCounted += value - held;
        note(`pressure ${flavor}: ${value} for ${held} distinct open jobs`);
      }
      if (value > expected) result.pressureOver += value - expected;
      if (value < expected) result.pressureUnder += expected - value;
      if (value !== expected) note(`pressure ${flavor}: ${value}, truth ${expected}`);
    }
  }
  return result;
}

export function agrees(comparison: Comparison): boolean {
  return (
    comparison.lostEvents +
      comparison.missingJobs +
      comparison.extraRows +
      comparison.wrongJobs +
      comparison.pressureOver +
      comparison.pressureUnder +
      comparison.pressureDoubleCounted ===
    0
  );
}

function differences(job: TruthJob, row: JobRow): string[] {
  const problems: string[] = [];
  const same = (a: Date | null, b: Date | null) => (a?.getTime() ?? null) === (b?.getTime() ?? null);
  if (!same(row.started_at, job.startedAt)) {
    problems.push(`started ${row.started_at?.toISOString()}, truth ${job.startedAt?.toISOString()}`);
  }
  if (!same(row.completed_at, job.completedAt)) {
    problems.push(`completed ${row.completed_at?.toISOString()}, truth ${job.completedAt?.toISOString()}`);
  }
  // A completed job no longer needs a runner; only open jobs must sit on their flavor.
  if (job.outcome !== 'completed' && row.assigned_flavor !== job.flavor.name) {
    problems.push(`flavor ${row.assigned_flavor}, truth ${job.flavor.name}`);
  }
  return problems;
}

async function readJobRows(databaseUrl: string): Promise<JobRow[]> {
  const client = openTestSql(databaseUrl, { max: 1 });
  try {
    const { rows } = await client.query<JobRow>(
      `SELECT platform, id, started_at, completed_at, assigned_flavor,
              ARRAY(SELECT jsonb_object_keys(raw)) AS raw_keys
         FROM job`,
    );
    return rows;
  } finally {
    await client.end();
  }
}
