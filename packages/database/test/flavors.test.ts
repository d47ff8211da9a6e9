import { describe, expect, it } from 'vitest';
import { ExistError, InvalidInputError, NotExistError } from '../src/index.js';
import { assignedFlavorOf, flavor, job, useDatabase } from './support.js';

const fixture = useDatabase('flavors');

describe('flavors', () => {
  it('adds, gets and lists flavors, labels lowercased in the order given', async () => {
    await fixture.db.addFlavor(
      flavor('large', { labels: ['X64', 'Large', 'x64'], priority: 2, minimumPressure: 1 }),
    );
    await fixture.db.addFlavor(flavor('arm', { labels: ['arm64'] }));
    await fixture.db.addFlavor(flavor('gitlab-small', { platform: 'gitlab' }));

    expect(await fixture.db.getFlavor('large')).toEqual(
      flavor('large', { labels: ['x64', 'large', 'x64'], priority: 2, minimumPressure: 1 }),
    );
    expect((await fixture.db.listFlavors('github')).map((f) => f.name)).toEqual(['arm', 'large']);
    expect((await fixture.db.listFlavors('gitlab')).map((f) => f.name)).toEqual(['gitlab-small']);
    expect(await fixture.db.listFlavors('nothing')).toEqual([]);
  });

  it('matches stored labels as a set, whatever their order and repeats', async () => {
    await fixture.db.addJob(job('early', { labels: ['NOBLE', 'large'] }));
    await fixture.db.addFlavor(flavor('big', { labels: ['x64', 'Noble', 'large', 'noble'] }));
    await fixture.db.addJob(job('late', { labels: ['large', 'x64'] }));
    expect((await fixture.db.getFlavor('big')).labels).toEqual(['x64', 'noble', 'large', 'noble']);
    expect(await assignedFlavorOf(fixture, 'early')).toBe('big');
    expect(await assignedFlavorOf(fixture, 'late')).toBe('big');
    expect(await fixture.db.getPressures('github', 'big')).toEqual({ big: 2 });
  });

  it('rejects a duplicate name with ExistError, even on another platform', async () => {
    await fixture.db.addFlavor(flavor('dup'));
    await expect(fixture.db.addFlavor(flavor('dup', { labels: ['x'] }))).rejects.toBeInstanceOf(ExistError);
    await expect(fixture.db.addFlavor(flavor('dup', { platform: 'gitlab' }))).rejects.toThrow(
      'already exists',
    );
    expect(await fixture.db.getFlavor('dup')).toEqual(flavor('dup'));
  });

  it('reports missing flavors with NotExistError', async () => {
    await expect(fixture.db.getFlavor('missing')).rejects.toBeInstanceOf(NotExistError);
    await expect(fixture.db.disableFlavor('github', 'missing')).rejects.toThrow('does not exist');
    await expect(fixture.db.enableFlavor('github', 'missing')).rejects.toBeInstanceOf(NotExistError);
    await fixture.db.addFlavor(flavor('other-platform', { platform: 'gitlab' }));
    await expect(fixture.db.disableFlavor('github', 'other-platform')).rejects.toBeInstanceOf(NotExistError);
  });

  it('treats deleting a missing flavor as a no-op', async () => {
    await expect(fixture.db.deleteFlavor('github', 'missing')).resolves.toBeUndefined();
  });

  it('rejects bad flavors with a clear error and stores nothing', async () => {
    await expect(fixture.db.addFlavor(flavor(''))).rejects.toThrow('invalid flavor: name must not be empty');
    await expect(fixture.db.addFlavor(flavor('x', { platform: '' }))).rejects.toBeInstanceOf(
      InvalidInputError,
    );
    await expect(fixture.db.addFlavor(flavor('x', { priority: 0.5 }))).rejects.toThrow(
      'priority must be an integer',
    );
    await expect(fixture.db.addFlavor(flavor('x', { labels: [3 as unknown as string] }))).rejects.toThrow(
      'labels must be strings',
    );
    await expect(fixture.db.getFlavor('')).rejects.toBeInstanceOf(InvalidInputError);
    const { rows } = await fixture.sql.query('SELECT count(*)::int AS n FROM flavor');
    expect(rows[0].n).toBe(0);
  });
});

describe('assignment', () => {
  it('assigns the highest-priority enabled covering flavor of the same platform', async () => {
    await fixture.db.addFlavor(flavor('small', { labels: ['x64'], priority: 1 }));
    await fixture.db.addFlavor(flavor('large', { labels: ['x64', 'large'], priority: 5 }));
    await fixture.db.addFlavor(flavor('off', { labels: ['x64', 'large'], priority: 9, isDisabled: true }));
    await fixture.db.addFlavor(flavor('gl', { platform: 'gitlab', labels: ['x64', 'large'], priority: 9 }));
    await fixture.db.addJob(job('1', { labels: ['X64'] }));
    await fixture.db.addJob(job('2', { labels: ['LARGE', 'x64'] }));
    await fixture.db.addJob(job('3', { labels: ['gpu'] }));
    await fixture.db.addJob(job('4', { labels: ['x64'], completedAt: new Date() }));
    expect(await assignedFlavorOf(fixture, '1')).toBe('large');
    expect(await assignedFlavorOf(fixture, '2')).toBe('large');
    expect(await assignedFlavorOf(fixture, '3')).toBeNull();
    expect(await assignedFlavorOf(fixture, '4')).toBeNull();
  });

  it('picks randomly between flavors of equal priority, using both', async () => {
    await fixture.db.addFlavor(flavor('a', { labels: ['x64'], priority: 3 }));
    await fixture.db.addFlavor(flavor('b', { labels: ['x64'], priority: 3 }));
    await fixture.db.addFlavor(flavor('low', { labels: ['x64'], priority: 1 }));
    await Promise.all(
      Array.from({ length: 200 }, (_, i) => fixture.db.addJob(job(`r${i}`, { labels: ['x64'] }))),
    );
    const pressures = await fixture.db.getPressures('github');
    expect((pressures.a ?? 0) + (pressures.b ?? 0)).toBe(200);
    expect(pressures.low).toBe(0);
    // Each side is Binomial(200, 0.5): below 50 happens with probability ~1e-12.
    expect(pressures.a).toBeGreaterThan(50);
    expect(pressures.b).toBeGreaterThan(50);
  });

  it('assigns waiting jobs when a matching flavor is added, without stealing assigned ones', async () => {
    await fixture.db.addFlavor(flavor('small', { labels: ['x64'], priority: 1 }));
    await fixture.db.addJob(job('assigned', { labels: ['x64'] }));
    await fixture.db.addJob(job('waiting', { labels: ['x64', 'gpu'] }));
    await fixture.db.addJob(job('done', { labels: ['x64', 'gpu'], completedAt: new Date() }));
    await fixture.db.addJob(job('gitlab', { platform: 'gitlab', labels: ['x64', 'gpu'] }));
    expect(await assignedFlavorOf(fixture, 'waiting')).toBeNull();

    await fixture.db.addFlavor(flavor('gpu', { labels: ['x64', 'gpu'], priority: 9 }));
    expect(await assignedFlavorOf(fixture, 'waiting')).toBe('gpu');
    expect(await assignedFlavorOf(fixture, 'assigned')).toBe('small');
    expect(await assignedFlavorOf(fixture, 'done')).toBeNull();
    expect(await assignedFlavorOf(fixture, 'gitlab', 'gitlab')).toBeNull();
  });

  it('adding a disabled flavor assigns nothing', async () => {
    await fixture.db.addJob(job('waiting', { labels: ['x64'] }));
    await fixture.db.addFlavor(flavor('off', { labels: ['x64'], isDisabled: true }));
    expect(await assignedFlavorOf(fixture, 'waiting')).toBeNull();
  });

  it('disabling a flavor moves its incomplete jobs to the next best flavor', async () => {
    await fixture.db.addFlavor(flavor('best', { labels: ['x64'], priority: 9 }));
    await fixture.db.addFlavor(flavor('next', { labels: ['x64'], priority: 5 }));
    await fixture.db.addFlavor(flavor('gpu-only', { labels: ['gpu'], priority: 7 }));
    await fixture.db.addJob(job('1', { labels: ['x64'] }));
    await fixture.db.addJob(job('2', { labels: [] }));
    await fixture.db.addJob(job('done', { labels: ['x64'] }));
    await fixture.db.updateJobCompleted('github', 'done', new Date());
    expect(await assignedFlavorOf(fixture, 'done')).toBe('best');

    await fixture.db.disableFlavor('github', 'best');
    expect((await fixture.db.getFlavor('best')).isDisabled).toBe(true);
    expect(await assignedFlavorOf(fixture, '1')).toBe('next');
    expect(await assignedFlavorOf(fixture, '2')).toBe('gpu-only');
    expect(await assignedFlavorOf(fixture, 'done')).toBeNull();
    expect(await fixture.db.getPressures('github')).toEqual({ best: 0, next: 1, 'gpu-only': 1 });

    await fixture.db.addJob(job('3', { labels: ['x64'] }));
    expect(await assignedFlavorOf(fixture, '3')).toBe('next');
  });

  it('spreads the jobs of a disabled flavor randomly over the next best flavors of equal priority', async () => {
    await fixture.db.addFlavor(flavor('first', { labels: ['x64'], priority: 9 }));
    await Promise.all(
      Array.from({ length: 200 }, (_, i) => fixture.db.addJob(job(`s${i}`, { labels: ['x64'] }))),
    );
    await fixture.db.addFlavor(flavor('left', { labels: ['x64'], priority: 3 }));
    await fixture.db.addFlavor(flavor('right', { labels: ['x64', 'large'], priority: 3 }));
    await fixture.db.disableFlavor('github', 'first');
    const pressures = await fixture.db.getPressures('github');
    expect((pressures.left ?? 0) + (pressures.right ?? 0)).toBe(200);
    // Binomial(200, 0.5) below 50 has probability ~1e-12.
    expect(pressures.left).toBeGreaterThan(50);
    expect(pressures.right).toBeGreaterThan(50);
  });

  it('disabling the only matching flavor leaves its jobs unassigned until it is enabled again', async () => {
    await fixture.db.addFlavor(flavor('only', { labels: ['x64'] }));
    await fixture.db.addJob(job('1', { labels: ['x64'] }));
    await fixture.db.disableFlavor('github', 'only');
    expect(await assignedFlavorOf(fixture, '1')).toBeNull();
    await fixture.db.addJob(job('2', { labels: ['x64'] }));
    expect(await assignedFlavorOf(fixture, '2')).toBeNull();

    await fixture.db.enableFlavor('github', 'only');
    expect((await fixture.db.getFlavor('only')).isDisabled).toBe(false);
    expect(await assignedFlavorOf(fixture, '1')).toBe('only');
    expect(await assignedFlavorOf(fixture, '2')).toBe('only');
    expect(await fixture.db.getPressures('github')).toEqual({ only: 2 });
  });

  it('deleting a flavor moves its jobs to the next best flavor and removes it', async () => {
    await fixture.db.addFlavor(flavor('best', { labels: ['x64'], priority: 9 }));
    await fixture.db.addFlavor(flavor('next', { labels: ['x64'], priority: 5 }));
    await fixture.db.addJob(job('1', { labels: ['x64'] }));
    await fixture.db.addJob(job('done', { labels: ['x64'] }));
    await fixture.db.updateJobCompleted('github', 'done', new Date());
    await fixture.db.deleteFlavor('github', 'best');
    await expect(fixture.db.getFlavor('best')).rejects.toBeInstanceOf(NotExistError);
    expect(await assignedFlavorOf(fixture, '1')).toBe('next');
    expect(await assignedFlavorOf(fixture, 'done')).toBeNull();
    expect(await fixture.db.getPressures('github')).toEqual({ next: 1 });

    await fixture.db.deleteFlavor('github', 'next');
    expect(await assignedFlavorOf(fixture, '1')).toBeNull();
    expect(await fixture.db.getPressures('github')).toEqual({});
  });

  it('deleting a flavor of another platform with the same name does nothing', async () => {
    await fixture.db.addFlavor(flavor('shared-name', { labels: ['x64'] }));
    await fixture.db.deleteFlavor('gitlab', 'shared-name');
    expect(await fixture.db.getFlavor('shared-name')).toEqual(flavor('shared-name', { labels: ['x64'] }));
  });
});
