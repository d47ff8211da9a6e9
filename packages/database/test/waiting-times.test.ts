import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { Database, InvalidInputError, type WaitingTime } from '../src/index.js';
import { flavor, job, useDatabase } from './support.js';

const fixture = useDatabase('waiting_times');
const at = (iso: string) => new Date(iso);
const MARCH = { from: at('2026-03-01T00:00:00Z'), to: at('2026-03-03T00:00:00Z') };

/** A job created at `created` that started at `started`, of the platform's only flavor unless `unowned`. */
async function started(id: string, platform: string, created: string, startedAt: string, unowned = false) {
  await fixture.db.addJob(
    job(id, { platform, labels: unowned ? ['gpu'] : [], createdAt: at(created), startedAt: at(startedAt) }),
  );
}

async function readAll(range = MARCH, batchSize?: number): Promise<WaitingTime[][]> {
  const batches: WaitingTime[][] = [];
  for await (const batch of fixture.db.readWaitingTimes(range, batchSize)) batches.push(batch);
  return batches;
}

beforeEach(async () => {
  await fixture.db.addFlavor(flavor('gh'));
  await fixture.db.addFlavor(flavor('gl', { platform: 'gitlab', runUntagged: true }));
  await started('1', 'github', '2026-03-01T10:00:00Z', '2026-03-01T10:00:30Z');
  await started('2', 'github', '2026-03-01T11:00:00Z', '2026-03-01T11:00:05Z');
  await started('3', 'gitlab', '2026-03-01T23:59:00Z', '2026-03-02T00:01:00Z');
  // The forge's clock behind ours: started "before" it was created.
  await started('4', 'github', '2026-03-02T09:00:10Z', '2026-03-02T09:00:00Z');
  // Outside the range, or never assigned a flavor: not in the report.
  await started('5', 'github', '2026-02-28T23:00:00Z', '2026-02-28T23:59:59Z');
  await started('6', 'github', '2026-03-02T23:00:00Z', '2026-03-03T00:00:00Z');
  await started('7', 'github', '2026-03-01T12:00:00Z', '2026-03-01T12:10:00Z', true);
});

describe('readWaitingTimes and countStartedJobs', () => {
  it('yields assigned jobs started in [from, to) by UTC day, platform and wait, never negative', async () => {
    expect((await readAll()).flat()).toEqual([
      { day: '2026-03-01', platform: 'github', seconds: 5 },
      { day: '2026-03-01', platform: 'github', seconds: 30 },
      { day: '2026-03-02', platform: 'github', seconds: 0 },
      { day: '2026-03-02', platform: 'gitlab', seconds: 120 },
    ]);
    expect(await fixture.db.countStartedJobs(MARCH)).toBe(4);
  });

  it('reads in batches of the size asked for; an empty range yields nothing', async () => {
    expect((await readAll(MARCH, 3)).map((batch) => batch.length)).toEqual([3, 1]);
    const empty = { from: at('2025-01-01T00:00:00Z'), to: at('2025-01-02T00:00:00Z') };
    expect(await readAll(empty)).toEqual([]);
    expect(await fixture.db.countStartedJobs(empty)).toBe(0);
  });

  it('refuses an invalid date or batch size before reading', async () => {
    const bad = { from: new Date(Number.NaN), to: MARCH.to };
    await expect(readAll(bad)).rejects.toBeInstanceOf(InvalidInputError);
    await expect(fixture.db.countStartedJobs(bad)).rejects.toBeInstanceOf(InvalidInputError);
    await expect(readAll(MARCH, 0)).rejects.toThrow('batch size must be a positive integer');
  });

  describe('with a pool of one connection', () => {
    let single: Database;
    afterAll(() => single?.close());

    it('gives the connection back when the reader stops early', async () => {
      single = await Database.connect(fixture.url, { poolSize: 1 });
      for await (const batch of single.readWaitingTimes(MARCH, 1)) {
        expect(batch).toHaveLength(1);
        break;
      }
      // Would wait for the pool's only connection forever if the cursor had kept it.
      expect(await single.countStartedJobs(MARCH)).toBe(4);
    });
  });
});

describe('@runner-planner/database/testing', () => {
  it('reset empties every table, counters and tokens included, and keeps the schema', async () => {
    await fixture.db.createAuthToken('someone');
    await fixture.sql.reset();
    for (const table of ['job', 'flavor', 'flavor_counter', 'auth_token']) {
      const { rows } = await fixture.sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
      expect(rows, table).toEqual([{ n: 0 }]);
    }
    await fixture.db.addFlavor(flavor('again'));
    expect(await fixture.db.getPressures('github')).toEqual({ again: 0 });
  });

  it('selectPressures answers as getPressures does', async () => {
    const byName = (rows: Array<{ name: string; pressure: number }>) =>
      Object.fromEntries(rows.map((row) => [row.name, row.pressure]));
    const staleAfterMs = Date.now() - at('2026-02-01T00:00:00Z').getTime();
    const planner = await Database.connect(fixture.url, { staleAfterMs });
    try {
      expect(byName(await fixture.sql.selectPressures('github', null, staleAfterMs))).toEqual(
        await planner.getPressures('github'),
      );
      expect(byName(await fixture.sql.selectPressures('gitlab', ['gl', 'missing'], staleAfterMs))).toEqual({
        gl: 1,
      });
    } finally {
      await planner.close();
    }
  });
});
