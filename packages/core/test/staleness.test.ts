import { describe, expect, it } from 'vitest';
import { countsTowardPressure, DEFAULT_STALE_AFTER_MS, stalenessCutoff } from '../src/index.js';

const now = new Date('2026-11-28T12:00:00Z');
const hoursAgo = (hours: number) => new Date(now.getTime() - hours * 3_600_000);

describe('staleness window', () => {
  it('defaults to five days', () => {
    expect(DEFAULT_STALE_AFTER_MS).toBe(5 * 24 * 3_600_000);
    expect(stalenessCutoff(now).toISOString()).toBe('2026-11-23T12:00:00.000Z');
  });

  it('counts only assigned, incomplete jobs created after the cutoff', () => {
    const base = { assignedFlavor: 'f', completedAt: null };
    expect(countsTowardPressure({ ...base, createdAt: hoursAgo(1) }, now)).toBe(true);
    expect(countsTowardPressure({ ...base, createdAt: hoursAgo(120) }, now)).toBe(false);
    expect(countsTowardPressure({ ...base, createdAt: hoursAgo(119) }, now)).toBe(true);
    expect(countsTowardPressure({ ...base, createdAt: hoursAgo(2) }, now, 3_600_000)).toBe(false);
    expect(countsTowardPressure({ ...base, assignedFlavor: null, createdAt: hoursAgo(1) }, now)).toBe(false);
    expect(countsTowardPressure({ ...base, completedAt: now, createdAt: hoursAgo(1) }, now)).toBe(false);
  });
});
