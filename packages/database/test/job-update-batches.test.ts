import pg from 'pg';
import { describe, expect, it, vi } from 'vitest';
import { gatedLoader } from '../src/batch-gate.js';
import { ExistError, NotExistError } from '../src/index.js';
import { BACKEND_COUNTER_SLOT } from '../src/migrations/counter-slots.js';
import { ASSIGNMENT_LOCK_KEY } from '../src/sql.js';
import { flavor, job, useDatabase } from './support.js';

const fixture = useDatabase('job-update-batches');

describe('a gated loader', () => {
  it('sends a lone call at once and gathers the calls made while its batches are busy', async () => {
    const batches: number[][] = [];
    let release: () => void = () => {};
    const loader = gatedLoader<number, number>(
      async (keys) => {
        batches.push([...keys]);
        // The first batch stays in flight until the test lets it go.
        if (batches.length === 1) await new Promise<void>((resolve) => (release = resolve));
        return keys.map((key) => key * 10);
      },
      { maxInFlight: 1, maxBatchSize: 100 },
    );
    const first = loader.load(1);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(batches).toEqual([[1]]);
    const later = [2, 3, 4].map((key) => loader.load(key));
    await new Promise((resolve) => setTimeout(resolve, 10));
    // Still one batch: the others wait for the slot.
    expect(batches).toEqual([[1]]);
    release();
    expect(await Promise.all([first, ...later])).toEqual([10, 20, 30, 40]);
    expect(batches).toEqual([[1], [2, 3, 4]]);
  });

  it('keeps at most maxInFlight batches running and fails only the calls of a failed batch', async () => {
    let running = 0;
    let most = 0;
    const loader = gatedLoader<number, number>(
      async (keys) => {
        running++;
        most = Math.max(most, running);
        await new Promise((resolve) => setTimeout(resolve, 5));
        running--;
        if (keys.includes(13)) throw new Error('unlucky batch');
        return [...keys];
      },
      { maxInFlight: 2, maxBatchSize: 3 },
    );
    const results = await Promise.allSettled(Array.from({ length: 30 }, (_, key) => loader.load(key)));
    expect(most).toBe(2);
    const failed = results.flatMap((result, key) => (result.status === 'rejected' ? [key] : []));
    // Batches of three: 12, 13 and 14 went together.
    expect(failed).toEqual([12, 13, 14]);
  });
});

describe('a gated loader with a window', () => {
  const recording = (windowMs: number, flushAt?: number) => {
    const batches: number[][] = [];
    const loader = gatedLoader<number, number>(
      async (keys) => {
        batches.push([...keys]);
        return [...keys];
      },
      { maxInFlight: 2, maxBatchSize: 100, windowMs, ...(flushAt === undefined ? {} : { flushAt }) },
    );
    return { batches, loader };
  };

  it('holds a batch for its window, gathering the calls made meanwhile', async () => {
    const { batches, loader } = recording(40);
    const first = loader.load(1);
    await new Promise((resolve) => setTimeout(resolve, 10));
    const second = loader.load(2);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(batches).toEqual([]);
    expect(await Promise.all([first, second])).toEqual([1, 2]);
    expect(batches).toEqual([[1, 2]]);
  });

  it('sends a batch before its window ends once it holds flushAt calls', async () => {
    const { batches, loader } = recording(60_000, 3);
    const started = Date.now();
    expect(await Promise.all([1, 2, 3].map((key) => loader.load(key)))).toEqual([1, 2, 3]);
    expect(batches).toEqual([[1, 2, 3]]);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});

/**
 * A rule of the operator's own, which PostgreSQL enforces on one row of a batch: `operation` of
 * job `id` fails. Answers the function that lifts it.
 */
async function refuseJob(id: string, operation: 'INSERT' | 'UPDATE'): Promise<() => Promise<void>> {
  const name = `refuse_job_${id}`;
  await fixture.sql.query(`
    CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'job ${id} is refused here'; END $$`);
  await fixture.sql.query(`
    CREATE TRIGGER ${name} BEFORE ${operation} ON job FOR EACH ROW
    WHEN (NEW.id = '${id}') EXECUTE FUNCTION ${name}()`);
  return async () => {
    await fixture.sql.query(`DROP TRIGGER ${name} ON job`);
    await fixture.sql.query(`DROP FUNCTION ${name}()`);
  };
}

describe('job updates recorded in batches', () => {
  it('records many concurrent updates of many jobs as they would be one by one', async () => {
    await fixture.db.addFlavor(flavor('small'));
    const ids = Array.from({ length: 120 }, (_, i) => String(i));
    await Promise.all(ids.map((id) => fixture.db.addJob(job(id, { raw: { queued: { n: id } } }))));
    const at = new Date('2026-12-03T10:00:00Z');
    // A job's start and completion may share a batch, in either order.
    await Promise.all(
      ids.flatMap((id, i) => [
        fixture.db.updateJobCompleted('github', id, new Date(at.getTime() + 60_000), { completed: { i } }),
        fixture.db.updateJobStarted('github', id, at, { in_progress: { i } }),
        i % 2 === 0
          ? fixture.db.updateJobStarted('github', id, new Date(0), { in_progress: { late: true } })
          : [],
      ]),
    );
    const stored = await fixture.db.listJobs('github', { limit: 200 });
    expect(stored).toHaveLength(120);
    for (const row of stored) {
      expect(row.completedAt).toEqual(new Date(at.getTime() + 60_000));
      // The first start recorded stays; a repeat neither moves it nor replaces its payload.
      expect(Object.keys(row.raw).sort()).toEqual(['completed', 'in_progress', 'queued']);
      expect(row.raw.queued).toEqual({ n: row.id });
    }
    expect(await fixture.db.getPressures('github')).toEqual({ small: 0 });
  });

  it('fails only the update PostgreSQL refuses, not the others of its batch', async () => {
    await fixture.db.addFlavor(flavor('small'));
    const ids = ['1', '2', '3', '4'];
    await Promise.all(ids.map((id) => fixture.db.addJob(job(id))));
    const allowAgain = await refuseJob('3', 'UPDATE');
    try {
      const results = await Promise.allSettled(
        ids.map((id) => fixture.db.updateJobStarted('github', id, new Date(), { in_progress: { id } })),
      );
      expect(results.map((result) => result.status)).toEqual([
        'fulfilled',
        'fulfilled',
        'rejected',
        'fulfilled',
      ]);
      expect(String((results[2] as PromiseRejectedResult).reason)).toMatch(/job 3 is refused here/);
      const stored = await fixture.db.listJobs('github');
      const started = Object.fromEntries(stored.map((row) => [row.id, row.startedAt !== null]));
      expect(started).toEqual({ '1': true, '2': true, '3': false, '4': true });
    } finally {
      await allowAgain();
    }
  });

  it('records payloads with characters jsonb cannot hold, with U+FFFD in their place', async () => {
    await fixture.db.addFlavor(flavor('small'));
    const hostile = {
      nul: 'a\u0000b',
      loneHigh: 'c\ud800d',
      loneLow: '\udc00',
      pair: '\ud83d\ude00',
      escapedBackslash: 'literally \\u0000 as text',
    };
    await fixture.db.addJob(job('hostile', { raw: { queued: hostile } }));
    await fixture.db.updateJobStarted('github', 'hostile', new Date(), { in_progress: hostile });
    const [stored] = await fixture.db.listJobs('github');
    const kept = {
      nul: 'a\ufffdb',
      loneHigh: 'c\ufffdd',
      loneLow: '\ufffd',
      pair: '\ud83d\ude00',
      escapedBackslash: 'literally \\u0000 as text',
    };
    expect(stored?.raw).toEqual({ queued: kept, in_progress: kept });
    expect(await fixture.db.getPressures('github')).toEqual({ small: 1 });
  });

  it('still tells a missing job from a stored one within a batch', async () => {
    await fixture.db.addJob(job('kept'));
    const results = await Promise.allSettled([
      fixture.db.updateJobStarted('github', 'kept', new Date()),
      fixture.db.updateJobStarted('github', 'never-seen', new Date()),
      fixture.db.mergeJobRaw('github', 'never-seen-either', { queued: {} }),
    ]);
    expect(results[0]?.status).toBe('fulfilled');
    expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(NotExistError);
    expect((results[2] as PromiseRejectedResult).reason).toBeInstanceOf(NotExistError);
  });
});

describe('job inserts recorded in batches', () => {
  it('fails only the insert PostgreSQL refuses, not the others of its batch', async () => {
    await fixture.db.addFlavor(flavor('small'));
    const allowAgain = await refuseJob('b', 'INSERT');
    try {
      const results = await Promise.allSettled(['a', 'b', 'c'].map((id) => fixture.db.addJob(job(id))));
      expect(results.map((result) => result.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      expect(String((results[1] as PromiseRejectedResult).reason)).toMatch(/job b is refused here/);
    } finally {
      await allowAgain();
    }
    expect((await fixture.db.listJobs('github')).map((row) => row.id).sort()).toEqual(['a', 'c']);
    expect(await fixture.db.getPressures('github')).toEqual({ small: 2 });
  });

  it('stores the first of two inserts of one job in a batch, and tells the other it exists', async () => {
    await fixture.db.addFlavor(flavor('small'));
    const at = new Date('2026-12-04T10:00:00Z');
    // Two events of a job that is not stored yet (a redelivered backlog): each tries the insert.
    // For even jobs the pending event comes first, for odd ones the completion.
    const pending = (id: string) => job(id, { createdAt: at, raw: { pending: { id } } });
    const completed = (id: string) =>
      job(id, {
        createdAt: at,
        startedAt: at,
        completedAt: new Date(at.getTime() + 1_000),
        raw: { failed: { id } },
      });
    const ids = Array.from({ length: 90 }, (_, i) => String(i));
    const calls = ids.flatMap((id, i) =>
      i % 2 === 0 ? [pending(id), completed(id)] : [completed(id), pending(id)],
    );
    const results = await Promise.allSettled(calls.map((call) => fixture.db.addJob(call)));

    const stored = new Map((await fixture.db.listJobs('github', { limit: 200 })).map((row) => [row.id, row]));
    ids.forEach((id, i) => {
      const [first, second] = [results[2 * i], results[2 * i + 1]];
      expect(first?.status, `job ${id}: first insert`).toBe('fulfilled');
      expect((second as PromiseRejectedResult).reason, `job ${id}: second insert`).toBeInstanceOf(ExistError);
      // The call told "inserted" is the one whose data the row holds; the other goes on to update it.
      expect(Object.keys(stored.get(id)?.raw ?? {}), `job ${id}: stored payload`).toEqual([
        i % 2 === 0 ? 'pending' : 'failed',
      ]);
    });
    expect(await fixture.db.getPressures('github')).toEqual({ small: ids.length / 2 });
  });
});

describe('job writes of two backends that share a counter slot', () => {
  /** Two connections whose backends add to the same counter slot. */
  async function sameSlotPair(): Promise<[pg.Client, pg.Client]> {
    const opened: { client: pg.Client; slot: number }[] = [];
    try {
      for (;;) {
        const client = new pg.Client({ connectionString: fixture.url });
        await client.connect();
        const { rows } = await client.query<{ slot: number }>(`SELECT ${BACKEND_COUNTER_SLOT} AS slot`);
        const slot = rows[0]!.slot;
        const partner = opened.find((other) => other.slot === slot);
        if (partner) {
          opened.splice(opened.indexOf(partner), 1);
          return [partner.client, client];
        }
        opened.push({ client, slot });
      }
    } finally {
      await Promise.all(opened.map(({ client }) => client.end()));
    }
  }

  const waitingForLock = async (pid: number) =>
    (
      await fixture.sql.query<{ waiting: boolean }>(
        "SELECT wait_event_type = 'Lock' AS waiting FROM pg_stat_activity WHERE pid = $1",
        [pid],
      )
    ).rows[0]?.waiting === true;

  it('do not deadlock: a batch of completions takes its counters in flavor order, as inserts do', async () => {
    await fixture.db.addFlavor(flavor('a-flavor', { labels: ['a'] }));
    await fixture.db.addFlavor(flavor('b-flavor', { labels: ['b'] }));
    // Job 1 (b-flavor) sorts before job 2 (a-flavor): applied in job order, the completions would
    // reach b-flavor's counter before a-flavor's, the reverse of the inserts' flavor order.
    await fixture.db.addJob(job('1', { labels: ['b'] }));
    await fixture.db.addJob(job('2', { labels: ['a'] }));
    const [updater, inserter] = await sameSlotPair();
    const blocker = new pg.Client({ connectionString: fixture.url });
    await blocker.connect();
    try {
      const pidOf = async (client: pg.Client) =>
        (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      const [updaterPid, inserterPid] = [await pidOf(updater), await pidOf(inserter)];
      // Job 2's row is held, so the batch stops there, after job 1.
      await blocker.query('BEGIN');
      await blocker.query("SELECT 1 FROM job WHERE platform = 'github' AND id = '2' FOR UPDATE");
      const at = new Date().toISOString();
      const completions = updater.query('SELECT event FROM record_job_events($1::jsonb)', [
        JSON.stringify(['1', '2'].map((id, n) => ({ n, kind: 'completed', platform: 'github', id, at }))),
      ]);
      await vi.waitFor(async () => expect(await waitingForLock(updaterPid)).toBe(true));
      const newJobs = ['3', '4'].map((id, n) => ({
        platform: 'github',
        id,
        labels: [n === 0 ? 'a' : 'b'],
        created_at: at,
        raw: {},
        held: false,
      }));
      const inserts = inserter.query('SELECT job_id FROM insert_jobs($1::jsonb, $2)', [
        JSON.stringify(newJobs),
        ASSIGNMENT_LOCK_KEY,
      ]);
      await vi.waitFor(async () => expect(await waitingForLock(inserterPid)).toBe(true));
      await blocker.query('COMMIT');
      const [completed, inserted] = await Promise.allSettled([completions, inserts]);
      expect(completed.status === 'fulfilled' ? completed.value.rows : completed.reason).toEqual([
        { event: 0 },
        { event: 1 },
      ]);
      expect(inserted.status === 'fulfilled' ? inserted.value.rowCount : inserted.reason).toBe(2);
    } finally {
      await Promise.all([updater.end(), inserter.end(), blocker.end()]);
    }
    expect(await fixture.db.getPressures('github')).toEqual({ 'a-flavor': 1, 'b-flavor': 1 });
  });
});
