import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMIT, ExistError, InvalidInputError, NotExistError } from '../src/index.js';
import { flavor, job, useDatabase } from './support.js';

const fixture = useDatabase('jobs');
const at = (iso: string) => new Date(iso);

async function stored(id: string, platform = 'github') {
  const [found] = await fixture.db.listJobs(platform, { withId: id });
  if (found === undefined) throw new Error(`job ${id} missing`);
  return found;
}

describe('addJob', () => {
  it('stores every field and normalises labels', async () => {
    const created = at('2026-11-01T10:00:00.123Z');
    await fixture.db.addJob(
      job('7', { labels: ['Linux', 'X64', 'x64'], createdAt: created, raw: { queued: { n: 1 } } }),
    );
    expect(await stored('7')).toEqual({
      platform: 'github',
      id: '7',
      labels: ['linux', 'x64'],
      createdAt: created,
      startedAt: null,
      completedAt: null,
      raw: { queued: { n: 1 } },
      held: false,
      releasedAt: null,
      assignedFlavor: null,
    });
  });

  it('rejects a duplicate (platform, id) with ExistError and keeps the first row', async () => {
    await fixture.db.addJob(job('1', { labels: ['a'], raw: { queued: { first: true } } }));
    await expect(fixture.db.addJob(job('1', { labels: ['b'] }))).rejects.toBeInstanceOf(ExistError);
    expect((await stored('1')).labels).toEqual(['a']);
    await fixture.db.addJob(job('1', { platform: 'gitlab' }));
    expect((await stored('1', 'gitlab')).platform).toBe('gitlab');
  });

  it('gives ExistError to repeats of the same job within one concurrent batch', async () => {
    const results = await Promise.allSettled([1, 2, 3].map(() => fixture.db.addJob(job('same'))));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results.filter((r) => r.status === 'rejected')) {
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(ExistError);
    }
  });

  it('never assigns a job inserted already completed', async () => {
    await fixture.db.addFlavor(flavor('any'));
    await fixture.db.addJob(job('done', { completedAt: new Date(), startedAt: new Date() }));
    expect((await stored('done')).assignedFlavor).toBeNull();
    expect(await fixture.db.getPressures('github')).toEqual({ any: 0 });
  });

  it.each([
    ['an empty id', { id: '' }, 'id must not be empty'],
    ['an empty platform', { platform: '' }, 'platform must not be empty'],
    ['an invalid createdAt', { createdAt: new Date('not a date') }, 'createdAt is not a valid date'],
    ['a string date', { startedAt: '2026-01-01' as unknown as Date }, 'startedAt must be a Date'],
    ['an array raw', { raw: [] as unknown as Record<string, unknown> }, 'raw must be a JSON object'],
    ['a null raw', { raw: null as unknown as Record<string, unknown> }, 'raw must be a JSON object'],
    ['non-string labels', { labels: [1] as unknown as string[] }, 'labels must be strings'],
  ])('rejects %s with a clear error and writes nothing', async (_, change, message) => {
    const error = await fixture.db.addJob(job('bad', change)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as Error).message).toContain(message);
    const { rows } = await fixture.sql.query('SELECT count(*)::int AS n FROM job');
    expect(rows[0].n).toBe(0);
  });
});

describe('listJobs', () => {
  it('returns a platform’s jobs oldest first, filtered and limited', async () => {
    const base = Date.parse('2026-11-01T00:00:00Z');
    for (const [i, id] of ['c', 'a', 'b', 'd'].entries()) {
      await fixture.db.addJob(job(id, { createdAt: new Date(base + [3, 1, 2, 4][i]! * 60_000) }));
    }
    await fixture.db.addJob(job('other', { platform: 'gitlab', createdAt: new Date(base) }));
    await fixture.db.updateJobCompleted('github', 'b', new Date());

    const ids = async (options = {}) => (await fixture.db.listJobs('github', options)).map((j) => j.id);
    expect(await ids()).toEqual(['a', 'b', 'c', 'd']);
    expect(await ids({ onlyNotCompleted: true })).toEqual(['a', 'c', 'd']);
    expect(await ids({ withId: 'c' })).toEqual(['c']);
    expect(await ids({ withId: 'missing' })).toEqual([]);
    expect(await ids({ createdAfter: new Date(base + 2 * 60_000) })).toEqual(['c', 'd']);
    expect(await ids({ limit: 2 })).toEqual(['a', 'b']);
    expect(await ids({ limit: 2, onlyNotCompleted: true, createdAfter: new Date(base) })).toEqual(['a', 'c']);
  });

  it('applies DEFAULT_LIMIT when the limit is 0 or absent', async () => {
    expect(DEFAULT_LIMIT).toBe(100);
    await Promise.all(Array.from({ length: 120 }, (_, i) => fixture.db.addJob(job(String(i)))));
    expect(await fixture.db.listJobs('github')).toHaveLength(100);
    expect(await fixture.db.listJobs('github', { limit: 0 })).toHaveLength(100);
    expect(await fixture.db.listJobs('github', { limit: 110 })).toHaveLength(110);
  });

  it('rejects a negative or fractional limit', async () => {
    await expect(fixture.db.listJobs('github', { limit: -1 })).rejects.toThrow(
      'limit must be a non-negative integer',
    );
    await expect(fixture.db.listJobs('github', { limit: 1.5 })).rejects.toBeInstanceOf(InvalidInputError);
  });
});

describe('updateJobStarted / updateJobCompleted', () => {
  it('report a missing job with NotExistError', async () => {
    await expect(fixture.db.updateJobStarted('github', 'nope', new Date())).rejects.toBeInstanceOf(
      NotExistError,
    );
    await expect(fixture.db.updateJobCompleted('github', 'nope', new Date())).rejects.toThrow(
      'does not exist',
    );
  });

  it('set timestamps once: a later duplicate neither moves nor clears them', async () => {
    await fixture.db.addJob(job('1'));
    await fixture.db.updateJobStarted('github', '1', at('2026-11-01T10:00:00Z'));
    await fixture.db.updateJobStarted('github', '1', at('2026-11-01T11:00:00Z'));
    await fixture.db.updateJobCompleted('github', '1', at('2026-11-01T12:00:00Z'));
    await fixture.db.updateJobCompleted('github', '1', at('2026-11-01T13:00:00Z'));
    const row = await stored('1');
    expect(row.startedAt).toEqual(at('2026-11-01T10:00:00Z'));
    expect(row.completedAt).toEqual(at('2026-11-01T12:00:00Z'));
  });

  it('never reopens a completed job: a late start keeps it completed and out of pressure', async () => {
    await fixture.db.addFlavor(flavor('f'));
    await fixture.db.addJob(job('1'));
    await fixture.db.updateJobCompleted('github', '1', at('2026-11-01T12:00:00Z'));
    await fixture.db.updateJobStarted('github', '1', at('2026-11-01T11:00:00Z'));
    const row = await stored('1');
    expect(row.completedAt).toEqual(at('2026-11-01T12:00:00Z'));
    expect(row.startedAt).toEqual(at('2026-11-01T11:00:00Z'));
    expect(await fixture.db.getPressures('github')).toEqual({ f: 0 });
  });

  it('a completion that reports its start fills a missing start, never moves a recorded one', async () => {
    await fixture.db.addJob(job('1'));
    await fixture.db.updateJobCompleted(
      'github',
      '1',
      at('2026-11-01T12:00:00Z'),
      undefined,
      at('2026-11-01T10:00:00Z'),
    );
    await fixture.db.addJob(job('2'));
    await fixture.db.updateJobStarted('github', '2', at('2026-11-01T09:00:00Z'));
    await fixture.db.updateJobCompleted(
      'github',
      '2',
      at('2026-11-01T12:00:00Z'),
      undefined,
      at('2026-11-01T10:00:00Z'),
    );
    expect(await stored('1')).toMatchObject({
      startedAt: at('2026-11-01T10:00:00Z'),
      completedAt: at('2026-11-01T12:00:00Z'),
    });
    expect((await stored('2')).startedAt).toEqual(at('2026-11-01T09:00:00Z'));
    await expect(
      fixture.db.updateJobCompleted('github', '1', new Date(), undefined, new Date('x')),
    ).rejects.toThrow('startedAt is not a valid date');
  });

  it('an update without a payload leaves raw exactly as stored', async () => {
    const payload = { queued: { step: 'q', big: 'x'.repeat(20_000) } };
    await fixture.db.addJob(job('1', { raw: payload }));
    await fixture.db.updateJobStarted('github', '1', new Date());
    await fixture.db.updateJobCompleted('github', '1', new Date());
    expect((await stored('1')).raw).toEqual(payload);
  });

  it('merge raw per action, keeping the payload already stored for an action', async () => {
    await fixture.db.addJob(job('1', { raw: { queued: { step: 'q' } } }));
    await fixture.db.updateJobStarted('github', '1', new Date(), { in_progress: { step: 'p' } });
    await fixture.db.updateJobCompleted('github', '1', new Date(), { completed: { step: 'c' } });
    await fixture.db.updateJobCompleted('github', '1', new Date(), { completed: { step: 'duplicate' } });
    await fixture.db.updateJobStarted('github', '1', new Date());
    expect((await stored('1')).raw).toEqual({
      queued: { step: 'q' },
      in_progress: { step: 'p' },
      completed: { step: 'c' },
    });
  });

  it('mergeJobRaw adds payloads without touching timestamps, keeping stored ones', async () => {
    await fixture.db.addJob(
      job('1', { raw: { in_progress: { step: 'p' } }, startedAt: at('2026-11-01T10:00:00Z') }),
    );
    await fixture.db.mergeJobRaw('github', '1', { queued: { step: 'q' }, in_progress: { step: 'other' } });
    const row = await stored('1');
    expect(row.raw).toEqual({ queued: { step: 'q' }, in_progress: { step: 'p' } });
    expect(row.startedAt).toEqual(at('2026-11-01T10:00:00Z'));
    await expect(fixture.db.mergeJobRaw('github', 'nope', {})).rejects.toBeInstanceOf(NotExistError);
    await expect(
      fixture.db.mergeJobRaw('github', '1', [] as unknown as Record<string, unknown>),
    ).rejects.toThrow('raw must be a JSON object');
  });

  it('reject bad arguments with a clear error and change nothing', async () => {
    await fixture.db.addJob(job('1'));
    await expect(fixture.db.updateJobStarted('github', '', new Date())).rejects.toThrow(
      'id must not be empty',
    );
    await expect(fixture.db.updateJobStarted('', '1', new Date())).rejects.toThrow(
      'platform must not be empty',
    );
    await expect(fixture.db.updateJobStarted('github', '1', new Date('x'))).rejects.toThrow(
      'startedAt is not a valid date',
    );
    await expect(
      fixture.db.updateJobCompleted('github', '1', new Date(), [] as unknown as Record<string, unknown>),
    ).rejects.toThrow('raw must be a JSON object');
    const row = await stored('1');
    expect(row.startedAt).toBeNull();
    expect(row.completedAt).toBeNull();
  });
});
