import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidInputError, NotExistError } from '../src/index.js';
import { flavor, job, useDatabase } from './support.js';

const fixture = useDatabase('lifecycle');
const at = (iso: string) => new Date(iso);

async function stored(id: string, platform = 'gitlab') {
  const [found] = await fixture.db.listJobs(platform, { withId: id });
  if (found === undefined) throw new Error(`job ${platform}/${id} not stored`);
  return found;
}

const docker = () => flavor('docker', { platform: 'gitlab', labels: ['docker'] });

describe('held jobs (known to the forge, not offered to runners yet)', () => {
  it('are recorded but neither assigned nor counted', async () => {
    await fixture.db.addFlavor(docker());
    await fixture.db.addJob(
      job('1', { platform: 'gitlab', labels: ['docker'], held: true, raw: { created: {} } }),
    );
    expect(await stored('1')).toMatchObject({ held: true, assignedFlavor: null, completedAt: null });
    expect(await fixture.db.getPressures('gitlab')).toEqual({ docker: 0 });
  });

  it('count from the moment the forge offers them to runners (updateJobWaiting), raw merged', async () => {
    await fixture.db.addFlavor(docker());
    await fixture.db.addJob(
      job('1', { platform: 'gitlab', labels: ['docker'], held: true, raw: { manual: { n: 1 } } }),
    );
    await fixture.db.updateJobWaiting('gitlab', '1', { pending: { n: 2 } });
    expect(await stored('1')).toMatchObject({
      held: false,
      assignedFlavor: 'docker',
      raw: { manual: { n: 1 }, pending: { n: 2 } },
    });
    expect(await fixture.db.getPressures('gitlab')).toEqual({ docker: 1 });
    // A repeat changes nothing, and keeps the first payload of an action.
    await fixture.db.updateJobWaiting('gitlab', '1', { pending: { n: 3 } });
    expect(await stored('1')).toMatchObject({ raw: { manual: { n: 1 }, pending: { n: 2 } } });
    expect(await fixture.db.getPressures('gitlab')).toEqual({ docker: 1 });
  });

  it('count when they start, even if the event that released them was lost', async () => {
    await fixture.db.addFlavor(docker());
    await fixture.db.addJob(job('1', { platform: 'gitlab', labels: ['docker'], held: true }));
    await fixture.db.updateJobStarted('gitlab', '1', at('2026-12-01T10:00:00Z'), { running: {} });
    expect(await stored('1')).toMatchObject({
      held: false,
      assignedFlavor: 'docker',
      startedAt: at('2026-12-01T10:00:00Z'),
    });
    expect(await fixture.db.getPressures('gitlab')).toEqual({ docker: 1 });
  });

  it('never count when they end held (a manual job canceled with its pipeline)', async () => {
    await fixture.db.addFlavor(docker());
    await fixture.db.addJob(job('1', { platform: 'gitlab', labels: ['docker'], held: true }));
    await fixture.db.updateJobCompleted('gitlab', '1', at('2026-12-01T10:00:00Z'), { canceled: {} });
    expect(await stored('1')).toMatchObject({ held: false, assignedFlavor: null, startedAt: null });
    expect(await fixture.db.getPressures('gitlab')).toEqual({ docker: 0 });
  });

  it('count for a full staleness window from their release, however old (a manual job played a week later)', async () => {
    await fixture.db.addFlavor(docker());
    const weekAgo = new Date(Date.now() - 7 * 24 * 3600 * 1000);
    await fixture.db.addJob(job('old', { platform: 'gitlab', labels: ['docker'], createdAt: weekAgo }));
    await fixture.db.addJob(
      job('played', { platform: 'gitlab', labels: ['docker'], createdAt: weekAgo, held: true }),
    );
    expect(await fixture.db.getPressures('gitlab')).toEqual({ docker: 0 });
    await fixture.db.updateJobWaiting('gitlab', 'played', { pending: {} });
    const released = await stored('played');
    expect(released.releasedAt?.getTime()).toBeGreaterThan(Date.now() - 60_000);
    expect(released.createdAt).toEqual(weekAgo);
    expect(await fixture.db.getPressures('gitlab')).toEqual({ docker: 1 });
  });

  it('stay held when more of their payloads arrive (mergeJobRaw)', async () => {
    await fixture.db.addJob(job('1', { platform: 'gitlab', held: true, raw: { created: {} } }));
    await fixture.db.mergeJobRaw('gitlab', '1', { manual: {} });
    expect(await stored('1')).toMatchObject({ held: true, raw: { created: {}, manual: {} } });
  });

  it('are passed over by flavor changes until released', async () => {
    await fixture.db.addJob(job('1', { platform: 'gitlab', labels: ['docker'], held: true }));
    await fixture.db.addJob(job('2', { platform: 'gitlab', labels: ['docker'] }));
    await fixture.db.addFlavor(docker());
    expect((await stored('1')).assignedFlavor).toBeNull();
    expect((await stored('2')).assignedFlavor).toBe('docker');
    await fixture.db.disableFlavor('gitlab', 'docker');
    await fixture.db.enableFlavor('gitlab', 'docker');
    expect((await stored('1')).assignedFlavor).toBeNull();
    expect(await fixture.db.getPressures('gitlab')).toEqual({ docker: 1 });
  });

  it('updateJobWaiting on a job that is not stored is NotExistError, and bad arguments are refused', async () => {
    await expect(fixture.db.updateJobWaiting('gitlab', '404')).rejects.toBeInstanceOf(NotExistError);
    await expect(fixture.db.updateJobWaiting('', '1')).rejects.toBeInstanceOf(InvalidInputError);
    await expect(
      fixture.db.updateJobWaiting('gitlab', '1', [] as unknown as Record<string, unknown>),
    ).rejects.toBeInstanceOf(InvalidInputError);
  });

  it('any order and repetition of held, waiting, start and completion ends in the same row and pressure (property)', async () => {
    type Step = 'held' | 'waiting' | 'started' | 'completed';
    const started = at('2026-12-01T10:01:00Z');
    const completed = at('2026-12-01T10:05:00Z');
    let nextId = 0;
    await fixture.db.addFlavor(docker());
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom<Step>('held', 'waiting', 'started', 'completed'), {
          minLength: 1,
          maxLength: 6,
        }),
        async (steps) => {
          const id = String(++nextId);
          for (const step of steps) {
            const raw = { [step]: { step } };
            const insert = () =>
              fixture.db.addJob(
                job(id, {
                  platform: 'gitlab',
                  labels: ['docker'],
                  held: step === 'held',
                  startedAt: step === 'started' ? started : null,
                  completedAt: step === 'completed' ? completed : null,
                  raw,
                }),
              );
            const update = {
              held: () => fixture.db.mergeJobRaw('gitlab', id, raw),
              waiting: () => fixture.db.updateJobWaiting('gitlab', id, raw),
              started: () => fixture.db.updateJobStarted('gitlab', id, started, raw),
              completed: () => fixture.db.updateJobCompleted('gitlab', id, completed, raw),
            }[step];
            try {
              await update();
            } catch (error) {
              if (!(error instanceof NotExistError)) throw error;
              await insert();
            }
          }
          const seen = new Set(steps);
          const row = await stored(id);
          expect(row.held).toBe(!seen.has('waiting') && !seen.has('started') && !seen.has('completed'));
          expect(row.startedAt).toEqual(seen.has('started') ? started : null);
          expect(row.completedAt).toEqual(seen.has('completed') ? completed : null);
          expect(Object.keys(row.raw).sort()).toEqual([...seen].sort());
          const open = (await fixture.db.listJobs('gitlab', { onlyNotCompleted: true, limit: 1000 })).filter(
            (candidate) => !candidate.held,
          );
          expect(await fixture.db.getPressures('gitlab')).toEqual({ docker: open.length });
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('GitLab flavors and untagged jobs (run_untagged)', () => {
  it('a flavor without labels takes untagged jobs; one with labels only if it opts in', async () => {
    await fixture.db.addFlavor(flavor('tagged', { platform: 'gitlab', labels: ['docker'], priority: 9 }));
    await fixture.db.addJob(job('1', { platform: 'gitlab', labels: [] }));
    expect((await stored('1')).assignedFlavor).toBeNull();

    await fixture.db.addFlavor(flavor('any', { platform: 'gitlab', labels: [] }));
    expect((await stored('1')).assignedFlavor).toBe('any');

    await fixture.db.addFlavor(
      flavor('tagged-untagged', { platform: 'gitlab', labels: ['docker'], runUntagged: true, priority: 5 }),
    );
    await fixture.db.addJob(job('2', { platform: 'gitlab', labels: [] }));
    expect((await stored('2')).assignedFlavor).toBe('tagged-untagged');
    // Tagged jobs are unaffected by the setting.
    await fixture.db.addJob(job('3', { platform: 'gitlab', labels: ['docker'] }));
    expect((await stored('3')).assignedFlavor).toBe('tagged');
  });

  it('moving jobs off a disabled flavor keeps the rule', async () => {
    await fixture.db.addFlavor(flavor('open', { platform: 'gitlab', labels: ['docker'], runUntagged: true }));
    await fixture.db.addFlavor(flavor('closed', { platform: 'gitlab', labels: ['docker'] }));
    await fixture.db.addJob(job('1', { platform: 'gitlab', labels: [] }));
    expect((await stored('1')).assignedFlavor).toBe('open');
    await fixture.db.disableFlavor('gitlab', 'open');
    expect((await stored('1')).assignedFlavor).toBeNull();
    expect(await fixture.db.getPressures('gitlab')).toEqual({ open: 0, closed: 0 });
  });

  it('reads back run_untagged on GitLab flavors only, with its default', async () => {
    await fixture.db.addFlavor(flavor('plain', { platform: 'gitlab', labels: [] }));
    await fixture.db.addFlavor(flavor('tagged', { platform: 'gitlab', labels: ['docker'] }));
    await fixture.db.addFlavor(flavor('hub', { platform: 'github', labels: ['large'] }));
    expect(await fixture.db.getFlavor('plain')).toMatchObject({ runUntagged: true });
    expect(await fixture.db.getFlavor('tagged')).toMatchObject({ runUntagged: false });
    expect(await fixture.db.getFlavor('hub')).not.toHaveProperty('runUntagged');
  });

  it('refuses run_untagged false without labels, and on other platforms', async () => {
    await expect(
      fixture.db.addFlavor(flavor('x', { platform: 'gitlab', labels: [], runUntagged: false })),
    ).rejects.toThrow(/without labels takes untagged jobs/);
    await expect(
      fixture.db.addFlavor(flavor('y', { platform: 'github', labels: [], runUntagged: true })),
    ).rejects.toThrow(/runUntagged applies to gitlab flavors only/);
    expect(await fixture.db.listFlavors('gitlab')).toEqual([]);
    expect(await fixture.db.listFlavors('github')).toEqual([]);
  });

  it('GitHub jobs without labels still go to any covering flavor (GitHub has no such setting)', async () => {
    await fixture.db.addFlavor(flavor('large', { platform: 'github', labels: ['large'] }));
    await fixture.db.addJob(job('1', { platform: 'github', labels: [] }));
    expect((await stored('1', 'github')).assignedFlavor).toBe('large');
  });
});

describe('reconciliation of held jobs', () => {
  const HOUR = 3_600_000;
  const ids = async (now: Date) =>
    (await fixture.db.listStaleJobs({ now, staleAfterMs: 60_000, heldAfterMs: HOUR, limit: 10 })).jobs
      .map((j) => j.id)
      .sort();
  const inHours = (hours: number) => new Date(Date.now() + hours * HOUR);

  it('lists held jobs after the longer held window, then at ages of about 1, 2, 4… windows', async () => {
    await fixture.db.addJob(job('held', { platform: 'gitlab', held: true }));
    await fixture.db.addJob(job('open', { platform: 'gitlab' }));
    expect(await ids(inHours(0.5))).toEqual(['open']);
    expect(await ids(inHours(1.1))).toEqual(['held', 'open']);

    // Looked up now (its last event an hour and more ago, as if we were at inHours(1.1)).
    await fixture.sql.query(`UPDATE job SET updated_at = now() - interval '70 minutes'`);
    await fixture.db.markJobChecked('gitlab', 'held');
    expect(await ids(inHours(0))).toEqual(['open']);
    // Due again once its age has doubled since the lookup: about 70 more minutes.
    expect(await ids(inHours(1))).toEqual(['open']);
    expect(await ids(inHours(1.3))).toEqual(['held', 'open']);
  });

  it('lists held jobs with the other jobs when no held window is given', async () => {
    await fixture.db.addJob(job('held', { platform: 'gitlab', held: true }));
    const page = await fixture.db.listStaleJobs({ now: inHours(0.1), staleAfterMs: 60_000, limit: 10 });
    expect(page.jobs.map((j) => j.id)).toEqual(['held']);
  });
});

describe('countIncompleteJobs', () => {
  it('counts incomplete jobs by phase, and the demand no flavor takes', async () => {
    await fixture.db.addFlavor(docker());
    const now = new Date();
    const old = new Date(Date.now() - 6 * 24 * 3600 * 1000);
    await fixture.db.addJob(job('held', { platform: 'gitlab', labels: ['docker'], held: true }));
    await fixture.db.addJob(job('queued', { platform: 'gitlab', labels: ['docker'] }));
    await fixture.db.addJob(job('running', { platform: 'gitlab', labels: ['docker'], startedAt: now }));
    await fixture.db.addJob(job('gpu', { platform: 'gitlab', labels: ['gpu'] }));
    await fixture.db.addJob(job('gpu-old', { platform: 'gitlab', labels: ['gpu'], createdAt: old }));
    await fixture.db.addJob(job('done', { platform: 'gitlab', labels: ['gpu'], completedAt: now }));
    await fixture.db.addJob(job('hub', { platform: 'github', labels: ['large'], startedAt: now }));
    expect(await fixture.db.countIncompleteJobs()).toEqual([
      { platform: 'github', held: 0, queued: 0, running: 1, unassigned: 1 },
      { platform: 'gitlab', held: 1, queued: 3, running: 1, unassigned: 1 },
    ]);
  });
});

describe('holdJob (the forge says a job we count as waiting is held again)', () => {
  async function listed(id: string) {
    const page = await fixture.db.listStaleJobs({
      now: new Date(Date.now() + 60_000),
      staleAfterMs: 0,
      limit: 100,
    });
    const found = page.jobs.find((candidate) => candidate.id === id);
    if (found === undefined) throw new Error(`job ${id} not listed`);
    return found;
  }

  it('stops counting a waiting job when nothing happened since it was read', async () => {
    await fixture.db.addFlavor(docker());
    await fixture.db.addJob(job('1', { platform: 'gitlab', labels: ['docker'] }));
    const read = await listed('1');
    expect(await fixture.db.holdJob('gitlab', '1', read.updatedAt)).toBe(true);
    expect(await stored('1')).toMatchObject({ held: true, assignedFlavor: null });
    expect(await fixture.db.getPressures('gitlab')).toEqual({ docker: 0 });
    // Released again by the forge's next pending hook.
    await fixture.db.updateJobWaiting('gitlab', '1', { pending: {} });
    expect(await fixture.db.getPressures('gitlab')).toEqual({ docker: 1 });
  });

  it('leaves the job alone when an event arrived after it was read, or it started', async () => {
    await fixture.db.addFlavor(docker());
    await fixture.db.addJob(job('1', { platform: 'gitlab', labels: ['docker'] }));
    await fixture.db.addJob(job('2', { platform: 'gitlab', labels: ['docker'] }));
    const first = await listed('1');
    const second = await listed('2');
    await new Promise((resolve) => setTimeout(resolve, 5));
    await fixture.db.updateJobWaiting('gitlab', '1', { pending: {} });
    await fixture.db.updateJobStarted('gitlab', '2', new Date());
    expect(await fixture.db.holdJob('gitlab', '1', first.updatedAt)).toBe(false);
    expect(await fixture.db.holdJob('gitlab', '2', second.updatedAt)).toBe(false);
    expect(await fixture.db.getPressures('gitlab')).toEqual({ docker: 2 });
  });
});

describe('explainJob', () => {
  it('explains a stored job against the flavors of every platform, and refuses an unknown one', async () => {
    await fixture.db.addFlavor(docker());
    await fixture.db.addFlavor(flavor('hub', { platform: 'github', labels: ['docker'] }));
    await fixture.db.addJob(
      job('1', { platform: 'gitlab', labels: ['docker'], held: true, raw: { created: {} } }),
    );
    const explained = await fixture.db.explainJob('gitlab', '1');
    expect(explained).toMatchObject({ phase: 'held', counted: false, forgeStatus: 'created' });
    expect(explained.flavors.map((verdict) => [verdict.flavor, verdict.refusal])).toEqual([
      ['docker', null],
      ['hub', 'other-platform'],
    ]);
    await expect(fixture.db.explainJob('gitlab', '2')).rejects.toBeInstanceOf(NotExistError);
    await expect(fixture.db.explainJob('', '1')).rejects.toBeInstanceOf(InvalidInputError);
  });
});
