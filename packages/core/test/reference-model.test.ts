import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { flavorCoversLabels } from '../src/index.js';
import { candidateFlavors, flavorFitsJob, matchFlavor, pressureOf } from '../src/reference-model.js';
import { flavor } from './support.js';

const job = (labels: string[], overrides: { platform?: string; completedAt?: Date | null } = {}) => ({
  platform: overrides.platform ?? 'github',
  labels,
  completedAt: overrides.completedAt ?? null,
});

describe('matchFlavor', () => {
  const flavors = [
    flavor('small', { labels: ['x64'], priority: 1 }),
    flavor('large', { labels: ['x64', 'large'], priority: 5 }),
    flavor('disabled', { labels: ['x64', 'large'], priority: 9, isDisabled: true }),
    flavor('gitlab', { platform: 'gitlab', labels: ['x64', 'large'], priority: 9 }),
  ];

  it('picks the highest-priority enabled covering flavor of the same platform', () => {
    expect(matchFlavor(flavors, job(['x64']))?.name).toBe('large');
    expect(matchFlavor(flavors, job(['LARGE']))?.name).toBe('large');
  });

  it('returns null when nothing covers the labels or the job is completed', () => {
    expect(matchFlavor(flavors, job(['gpu']))).toBeNull();
    expect(matchFlavor(flavors, job(['x64'], { completedAt: new Date() }))).toBeNull();
    expect(matchFlavor(flavors, job(['x64'], { platform: 'other' }))).toBeNull();
  });

  it('chooses among equal priorities with the given random source', () => {
    const tied = [flavor('a', { priority: 2 }), flavor('b', { priority: 2 }), flavor('c', { priority: 1 })];
    expect(candidateFlavors(tied, job([])).map((f) => f.name)).toEqual(['a', 'b']);
    expect(matchFlavor(tied, job([]), () => 0)?.name).toBe('a');
    expect(matchFlavor(tied, job([]), () => 0.99)?.name).toBe('b');
  });

  it('always returns one of the candidates (property)', () => {
    const arbFlavor = fc.record({
      platform: fc.constantFrom('github', 'gitlab'),
      name: fc.uuid(),
      labels: fc.subarray(['a', 'b', 'c', 'd']),
      priority: fc.integer({ min: 0, max: 3 }),
      isDisabled: fc.boolean(),
      minimumPressure: fc.constant(0),
    });
    fc.assert(
      fc.property(
        fc.array(arbFlavor, { maxLength: 8 }),
        fc.subarray(['a', 'b', 'c', 'd']),
        fc.double({ min: 0, max: 0.999_999, noNaN: true }),
        (all, labels, r) => {
          const chosen = matchFlavor(all, job(labels), () => r);
          const candidates = candidateFlavors(all, job(labels));
          if (chosen === null) return candidates.length === 0;
          return (
            candidates.includes(chosen) &&
            all.every(
              (other) =>
                other.isDisabled ||
                other.platform !== 'github' ||
                !flavorCoversLabels(other.labels, labels) ||
                other.priority <= chosen.priority,
            )
          );
        },
      ),
    );
  });
});

describe('untagged GitLab jobs (run_untagged) and held jobs', () => {
  const gitlab = (name: string, labels: string[], runUntagged?: boolean) =>
    flavor(name, { platform: 'gitlab', labels, ...(runUntagged === undefined ? {} : { runUntagged }) });

  it('only fitting flavors are candidates for an untagged job; tagged jobs are unaffected', () => {
    const flavors = [gitlab('tagged', ['docker'], false), gitlab('open', ['docker'], true)];
    expect(candidateFlavors(flavors, job([], { platform: 'gitlab' })).map((f) => f.name)).toEqual(['open']);
    expect(candidateFlavors(flavors, job(['docker'], { platform: 'gitlab' })).map((f) => f.name)).toEqual([
      'tagged',
      'open',
    ]);
    expect(flavorFitsJob(gitlab('tagged', ['docker']), { platform: 'gitlab', labels: ['  '] })).toBe(false);
  });

  it('a held job has no candidates', () => {
    expect(
      candidateFlavors([gitlab('bare', [])], { ...job([], { platform: 'gitlab' }), held: true }),
    ).toEqual([]);
  });
});

describe('pressureOf', () => {
  const now = new Date('2026-11-28T12:00:00Z');
  const hoursAgo = (hours: number) => new Date(now.getTime() - hours * 3_600_000);

  it('is max(minimum, the assigned incomplete jobs inside the staleness window)', () => {
    const jobs = [
      { assignedFlavor: 'f', completedAt: null, createdAt: hoursAgo(1) },
      { assignedFlavor: 'f', completedAt: null, createdAt: hoursAgo(2) },
      { assignedFlavor: 'g', completedAt: null, createdAt: hoursAgo(1) },
      { assignedFlavor: 'f', completedAt: null, createdAt: hoursAgo(200) },
    ];
    expect(pressureOf({ name: 'f', minimumPressure: 0 }, jobs, now)).toBe(2);
    expect(pressureOf({ name: 'f', minimumPressure: 5 }, jobs, now)).toBe(5);
    expect(pressureOf({ name: 'h', minimumPressure: 0 }, jobs, now)).toBe(0);
  });
});
