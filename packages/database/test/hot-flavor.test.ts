import { describe, expect, it } from 'vitest';
import { Database } from '../src/index.js';
import { flavor, job, recountedPressures, useDatabase } from './support.js';

const fixture = useDatabase('hot-flavor');

/** Each flavor's counter rows: how many, and how many hold a count other than zero. */
async function counterSlots(name: string): Promise<{ rows: number; used: number; sum: number }> {
  const { rows } = await fixture.sql.query<{ rows: number; used: number; sum: number }>(
    `SELECT count(*)::int AS rows, count(*) FILTER (WHERE incomplete_jobs <> 0)::int AS used,
            coalesce(sum(incomplete_jobs), 0)::int AS sum
     FROM flavor_counter WHERE flavor = $1`,
    [name],
  );
  return rows[0] ?? { rows: 0, used: 0, sum: 0 };
}

describe('one flavor written by many connections at once', () => {
  it('keeps its pressure exact while the writes land on several counter slots', async () => {
    await fixture.db.addFlavor(flavor('hot'));
    expect(await counterSlots('hot')).toEqual({ rows: 16, used: 0, sum: 0 });
    // Three processes' worth of pools, every job on the one flavor, completions racing inserts.
    // Each pool leaves some of its jobs open, so its slots keep a count.
    const writers = await Promise.all([1, 2, 3].map(() => Database.connect(fixture.url, { poolSize: 8 })));
    try {
      const ids = Array.from({ length: 240 }, (_, i) => String(i));
      await Promise.all(
        ids.map(async (id, i) => {
          const db = writers[i % writers.length] as Database;
          await db.addJob(job(id));
          await db.updateJobStarted('github', id, new Date());
          if (i % 4 !== 0) await db.updateJobCompleted('github', id, new Date());
        }),
      );
    } finally {
      await Promise.all(writers.map((db) => db.close()));
    }
    const open = 240 / 4;
    expect(await fixture.db.getPressures('github')).toEqual({ hot: open });
    expect(await recountedPressures(fixture, 'github', 24 * 60 * 60 * 1000)).toEqual({ hot: open });
    const slots = await counterSlots('hot');
    expect(slots.sum).toBe(open);
    // Concurrent writers did not queue on one row: their counts are spread over several.
    expect(slots.used).toBeGreaterThan(1);
  });

  it('adds and removes the counter slots with the flavor', async () => {
    await fixture.db.addFlavor(flavor('short-lived'));
    expect((await counterSlots('short-lived')).rows).toBe(16);
    await fixture.db.deleteFlavor('github', 'short-lived');
    expect((await counterSlots('short-lived')).rows).toBe(0);
  });
});
