import { describe, expect, it } from 'vitest';
import { Database, ExistError, NotExistError } from '../src/index.js';
import { flavor, job, recountedPressures, useDatabase } from './support.js';

const fixture = useDatabase('concurrency');
const DAY = 24 * 60 * 60 * 1000;

/** Runs `call` after a random pause, so the calls of different jobs interleave in every order. */
function later<T>(call: () => Promise<T>): Promise<T> {
  return new Promise((resolve) => setTimeout(resolve, Math.random() * 50)).then(call);
}

describe('concurrent writers', () => {
  it('leave exactly one row per job and only documented errors, across two connection pools', async () => {
    const other = await Database.connect(fixture.url, { poolSize: 4 });
    try {
      await fixture.db.addFlavor(flavor('a', { labels: ['x64'], priority: 1 }));
      await fixture.db.addFlavor(flavor('b', { labels: ['x64'], priority: 1 }));
      const stores = [fixture.db, other];
      const ids = Array.from({ length: 40 }, (_, i) => String(i));
      const calls: Promise<unknown>[] = [];
      const completedIds = new Set<string>();
      for (let round = 0; round < 5; round++) {
        for (const id of ids) {
          const db = stores[(round + Number(id)) % 2]!;
          const at = new Date(Date.parse('2026-11-28T00:00:00Z') + round * 1000);
          calls.push(later(() => db.addJob(job(id, { labels: ['x64'] }))));
          calls.push(later(() => db.updateJobStarted('github', id, at, { in_progress: { round } })));
          if (round >= 3) {
            calls.push(
              later(() => db.updateJobCompleted('github', id, at, { completed: { round } })).then(() =>
                completedIds.add(id),
              ),
            );
          }
        }
      }
      const results = await Promise.allSettled(calls);
      const unexpected = results.filter(
        (r) =>
          r.status === 'rejected' && !(r.reason instanceof ExistError || r.reason instanceof NotExistError),
      );
      expect(unexpected).toEqual([]);

      const { rows } = await fixture.sql.query<{ id: string; n: number; done: boolean }>(
        'SELECT id, count(*)::int AS n, bool_and(completed_at IS NOT NULL) AS done FROM job GROUP BY id',
      );
      expect(rows.map((row) => row.id).sort()).toEqual([...ids].sort());
      for (const row of rows) {
        expect(row.n).toBe(1);
        expect(row.done).toBe(completedIds.has(row.id));
      }
      expect(completedIds.size).toBeGreaterThan(0);
      expect(await fixture.db.getPressures('github')).toEqual(
        await recountedPressures(fixture, 'github', 5 * DAY),
      );
    } finally {
      await other.close();
    }
  });

  it('keep counters exact while flavors are disabled, enabled and deleted under a stream of jobs', async () => {
    await fixture.db.addFlavor(flavor('big', { labels: ['x64', 'large'], priority: 5 }));
    await fixture.db.addFlavor(flavor('small', { labels: ['x64'], priority: 1 }));
    await fixture.db.addFlavor(flavor('spare', { labels: ['x64', 'large'], priority: 3 }));
    const writers = Array.from({ length: 300 }, (_, i) =>
      fixture.db.addJob(job(String(i), { labels: i % 2 ? ['x64'] : ['large'] })).then(async () => {
        if (i % 3 === 0) await fixture.db.updateJobCompleted('github', String(i), new Date());
      }),
    );
    const flavorChanges = (async () => {
      for (let i = 0; i < 10; i++) {
        await fixture.db.disableFlavor('github', 'big');
        await fixture.db.enableFlavor('github', 'big');
      }
      await fixture.db.deleteFlavor('github', 'spare');
    })();
    await Promise.all([...writers, flavorChanges]);

    expect(await fixture.db.getPressures('github')).toEqual(
      await recountedPressures(fixture, 'github', 5 * DAY),
    );
    const { rows } = await fixture.sql.query(
      'SELECT count(*)::int AS n FROM job WHERE completed_at IS NULL AND assigned_flavor IS NULL',
    );
    expect(rows[0].n).toBe(0);
  });
});
