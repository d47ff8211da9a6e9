import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../src/index.js';
import { flavor, job, recountedPressures, useDatabase } from './support.js';

const fixture = useDatabase('retention');

const DAY = 86_400_000;
const daysAgo = (days: number) => new Date(Date.now() - days * DAY);
const raw = { completed: { workflow_job: { id: 1, steps: ['x'.repeat(200)] } } };

/** Jobs of flavor `large`: `done-N` completed N days ago, `open-N` created N days ago and not completed. */
async function seed() {
  await fixture.db.addFlavor(flavor('large', { labels: ['large'] }));
  for (const days of [1, 10, 40, 100, 200]) {
    await fixture.db.addJob(
      job(`done-${days}`, {
        labels: ['large'],
        createdAt: daysAgo(days),
        startedAt: daysAgo(days),
        completedAt: daysAgo(days),
        raw,
      }),
    );
    await fixture.db.addJob(job(`open-${days}`, { labels: ['large'], createdAt: daysAgo(days), raw }));
  }
  // As if each was recorded when it happened.
  await fixture.sql.query('UPDATE job SET updated_at = COALESCE(completed_at, created_at)');
}

async function ids(): Promise<string[]> {
  const jobs = await fixture.db.listJobs('github');
  return jobs.map((j) => j.id).sort();
}

async function rawOf(id: string) {
  const [found] = await fixture.db.listJobs('github', { withId: id });
  return found?.raw;
}

describe('deleteJobsCompletedBefore', () => {
  it('deletes completed jobs before the cutoff, oldest first and a batch at a time, never an incomplete one', async () => {
    await seed();
    const pressureBefore = await fixture.db.getPressures('github');

    expect(await fixture.db.deleteJobsCompletedBefore(daysAgo(30), 2)).toBe(2);
    expect(await ids()).not.toContain('done-200');
    expect(await ids()).not.toContain('done-100');
    expect(await ids()).toContain('done-40');
    expect(await fixture.db.deleteJobsCompletedBefore(daysAgo(30), 2)).toBe(1);
    expect(await fixture.db.deleteJobsCompletedBefore(daysAgo(30), 2)).toBe(0);

    expect(await ids()).toEqual([
      'done-1',
      'done-10',
      'open-1',
      'open-10',
      'open-100',
      'open-200',
      'open-40',
    ]);
    // Completed jobs count toward no pressure: the counters and a recount agree, unchanged.
    expect(await fixture.db.getPressures('github')).toEqual(pressureBefore);
    expect(await recountedPressures(fixture, 'github', 5 * DAY)).toEqual(pressureBefore);
  });

  it('skips a row another transaction is writing instead of waiting for it', async () => {
    await seed();
    const writer = new pg.Client({ connectionString: fixture.url });
    await writer.connect();
    try {
      await writer.query('BEGIN');
      await writer.query("SELECT 1 FROM job WHERE id = 'done-200' FOR UPDATE");
      const started = Date.now();
      expect(await fixture.db.deleteJobsCompletedBefore(daysAgo(30), 10)).toBe(2);
      expect(Date.now() - started).toBeLessThan(2_000);
      await writer.query('COMMIT');
    } finally {
      await writer.end();
    }
    expect(await fixture.db.deleteJobsCompletedBefore(daysAgo(30), 10)).toBe(1);
  });

  it('keeps an old job recorded lately (a late or replayed webhook) for the whole retention', async () => {
    await seed();
    await fixture.db.addJob(
      job('replayed', { createdAt: daysAgo(300), startedAt: daysAgo(300), completedAt: daysAgo(300), raw }),
    );
    expect(await fixture.db.deleteJobsCompletedBefore(daysAgo(30), 100)).toBe(3);
    expect(await fixture.db.dropRawPayloadsCompletedBefore(daysAgo(7), 100)).toBe(1);
    expect(await rawOf('replayed')).toEqual(raw);
  });

  it('refuses a bad cutoff or limit, deleting nothing', async () => {
    await seed();
    await expect(fixture.db.deleteJobsCompletedBefore(new Date('nope'), 10)).rejects.toThrow(
      InvalidInputError,
    );
    await expect(fixture.db.deleteJobsCompletedBefore(daysAgo(30), 0)).rejects.toThrow(
      'limit must be a positive whole number',
    );
    await expect(fixture.db.deleteJobsCompletedBefore(daysAgo(30), 1.5)).rejects.toThrow(InvalidInputError);
    expect(await ids()).toHaveLength(10);
  });
});

describe('dropRawPayloadsCompletedBefore', () => {
  it('empties the payloads of completed jobs before the cutoff, keeps their rows, and does each once', async () => {
    await seed();
    expect(await fixture.db.dropRawPayloadsCompletedBefore(daysAgo(7), 100)).toBe(4);
    expect(await fixture.db.dropRawPayloadsCompletedBefore(daysAgo(7), 100)).toBe(0);

    expect(await rawOf('done-10')).toEqual({});
    expect(await rawOf('done-200')).toEqual({});
    expect(await rawOf('done-1')).toEqual(raw);
    expect(await rawOf('open-200')).toEqual(raw);
    expect(await ids()).toHaveLength(10);
    const [row] = await fixture.db.listJobs('github', { withId: 'done-10' });
    expect(row?.completedAt?.getTime()).toBeLessThan(daysAgo(9).getTime());
  });

  it('finds its batch through the partial index, not by reading every job', async () => {
    // A handful of rows would be read sequentially anyway: forbid that to see which index serves.
    const client = new pg.Client({ connectionString: fixture.url });
    await client.connect();
    try {
      await client.query('SET enable_seqscan = off');
      const plan = async (text: string) =>
        (await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${text}`)).rows
          .map((r) => r['QUERY PLAN'])
          .join('\n');
      expect(
        await plan(
          'SELECT pk FROM job WHERE completed_at < now() AND NOT raw_dropped ORDER BY completed_at LIMIT 500',
        ),
      ).toContain('job_raw_kept_idx');
      expect(
        await plan('SELECT pk FROM job WHERE completed_at < now() ORDER BY completed_at LIMIT 500'),
      ).toContain('job_completed_idx');
    } finally {
      await client.end();
    }
  });
});
