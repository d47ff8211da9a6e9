import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../src/index.js';
import { job, useDatabase } from './support.js';

const fixture = useDatabase('stale-jobs');

/** Sets a job's time of last event, as if its last webhook arrived then. */
async function lastEventAt(platform: string, id: string, at: Date) {
  await fixture.sql.query('UPDATE job SET updated_at = $1 WHERE platform = $2 AND id = $3', [
    at,
    platform,
    id,
  ]);
}

/** Jobs with no event for 10 minutes, `limit` at a time. */
const page = (limit: number) => ({ now: new Date(), staleAfterMs: 600_000, limit });

describe('listStaleJobs', () => {
  it('lists incomplete jobs of every platform with no event since the cut-off, page by page', async () => {
    const old = new Date(Date.now() - 3_600_000);
    for (const id of ['1', '2', '3', '4', '5']) await fixture.db.addJob(job(id));
    await fixture.db.addJob(job('9', { platform: 'gitlab' }));
    await fixture.db.addJob(job('done', { startedAt: old, completedAt: old }));
    for (const id of ['1', '2', '3', '5', 'done']) await lastEventAt('github', id, old);
    await lastEventAt('gitlab', '9', old);

    const first = await fixture.db.listStaleJobs(page(3));
    expect(first.jobs.map((j) => `${j.platform}/${j.id}`)).toEqual(['github/1', 'github/2', 'github/3']);
    expect(first.cursor).toBeDefined();
    const second = await fixture.db.listStaleJobs({
      ...page(3),
      ...(first.cursor ? { after: first.cursor } : {}),
    });
    expect(second.jobs.map((j) => `${j.platform}/${j.id}`)).toEqual(['github/5', 'gitlab/9']);
    expect(second.cursor).toBeUndefined();
  });

  it('drops a job from the list once an event is recorded for it', async () => {
    const old = new Date(Date.now() - 3_600_000);
    await fixture.db.addJob(job('1'));
    await lastEventAt('github', '1', old);
    expect((await fixture.db.listStaleJobs(page(10))).jobs).toHaveLength(1);
    await fixture.db.updateJobStarted('github', '1', new Date());
    expect((await fixture.db.listStaleJobs(page(10))).jobs).toEqual([]);
  });

  it.each([
    ['a zero limit', () => fixture.db.listStaleJobs(page(0))],
    ['an invalid date', () => fixture.db.listStaleJobs({ ...page(10), now: new Date('x') })],
    ['a negative window', () => fixture.db.listStaleJobs({ ...page(10), heldAfterMs: -1 })],
    ['a made-up cursor', () => fixture.db.listStaleJobs({ ...page(10), after: 'abc' })],
  ])('rejects %s with InvalidInputError', async (_name, call) => {
    await expect(call()).rejects.toBeInstanceOf(InvalidInputError);
  });
});
