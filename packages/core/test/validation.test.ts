import { describe, expect, it } from 'vitest';
import { InvalidInputError, parseFlavor, parseNewJob } from '../src/index.js';

const goodFlavor = {
  platform: 'github',
  name: 'large',
  labels: ['X64', 'large', 'x64'],
  priority: 3,
  isDisabled: false,
  minimumPressure: 0,
};
const goodJob = {
  platform: 'github',
  id: '42',
  labels: ['Large'],
  createdAt: new Date('2026-01-01T00:00:00Z'),
  startedAt: null,
  completedAt: null,
  raw: {},
};

function problemOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidInputError);
    return (error as Error).message;
  }
  throw new Error('expected InvalidInputError');
}

describe('parseFlavor', () => {
  it('lowercases the labels of a valid flavor, keeping their order and repeats', () => {
    expect(parseFlavor(goodFlavor)).toEqual({ ...goodFlavor, labels: ['x64', 'large', 'x64'] });
  });

  it.each([
    [{ name: '' }, 'invalid flavor: name must not be empty'],
    [{ name: '_' }, 'reserved'],
    [{ name: 'a/b' }, 'must not contain "/"'],
    [{ platform: ' ' }, 'platform must not be empty'],
    [{ labels: [1] }, 'labels must be strings'],
    [{ labels: 'x64' }, 'labels must be an array'],
    [{ priority: 1.5 }, 'priority must be an integer'],
    [{ priority: '1' }, 'priority must be a number'],
    [{ minimumPressure: -1 }, 'minimumPressure must not be negative'],
    [{ isDisabled: 'no' }, 'isDisabled must be a boolean'],
  ])('rejects %j with a clear message', (change, message) => {
    expect(problemOf(() => parseFlavor({ ...goodFlavor, ...change }))).toContain(message);
  });
});

describe('parseNewJob', () => {
  it('normalises labels of a valid job', () => {
    expect(parseNewJob(goodJob).labels).toEqual(['large']);
  });

  it.each([
    [{ id: '' }, 'id must not be empty'],
    [{ platform: '' }, 'platform must not be empty'],
    [{ createdAt: new Date('nope') }, 'createdAt is not a valid date'],
    [{ createdAt: '2026-01-01' }, 'createdAt must be a Date'],
    [{ startedAt: new Date(Number.NaN) }, 'startedAt is not a valid date'],
    // Dates a payload can carry that PostgreSQL would refuse at every retry.
    [{ createdAt: new Date('-200000-01-01T00:00:00Z') }, 'createdAt must be within the years 1 to 9999'],
    [{ completedAt: new Date('+010000-01-01T00:00:00Z') }, 'completedAt must be within the years 1 to 9999'],
    [{ raw: [] }, 'raw must be a JSON object'],
    [{ raw: null }, 'raw must be a JSON object'],
    [{ raw: 'x' }, 'raw must be a JSON object'],
  ])('rejects %j with a clear message', (change, message) => {
    expect(problemOf(() => parseNewJob({ ...goodJob, ...change }))).toContain(message);
  });

  it('takes the first and last days of the years it allows', () => {
    for (const at of ['0001-01-01T00:00:00Z', '9999-12-31T23:59:59Z']) {
      expect(parseNewJob({ ...goodJob, createdAt: new Date(at) }).createdAt).toEqual(new Date(at));
    }
  });

  it('lists every problem at once', () => {
    const message = problemOf(() => parseNewJob({ ...goodJob, id: '', platform: '' }));
    expect(message).toContain('id must not be empty');
    expect(message).toContain('platform must not be empty');
  });
});

describe('parseFlavor: run_untagged', () => {
  const base = { name: 'f', priority: 0, isDisabled: false, minimumPressure: 0 };
  it('defaults a GitLab flavor to taking untagged jobs exactly when it has no labels', () => {
    expect(parseFlavor({ ...base, platform: 'gitlab', labels: [] }).runUntagged).toBe(true);
    expect(parseFlavor({ ...base, platform: 'gitlab', labels: ['docker'] }).runUntagged).toBe(false);
    expect(
      parseFlavor({ ...base, platform: 'gitlab', labels: ['docker'], runUntagged: true }).runUntagged,
    ).toBe(true);
  });

  it('leaves it out on other platforms', () => {
    expect(parseFlavor({ ...base, platform: 'github', labels: [] })).not.toHaveProperty('runUntagged');
  });

  it.each([
    [{ platform: 'gitlab', labels: [], runUntagged: false }, 'runUntagged cannot be false'],
    [{ platform: 'github', labels: [], runUntagged: true }, 'runUntagged applies to gitlab flavors only'],
    [{ platform: 'gitlab', labels: [], runUntagged: 'yes' }, 'runUntagged must be a boolean'],
  ])('refuses %j', (input, message) => {
    expect(() => parseFlavor({ ...base, ...input })).toThrow(InvalidInputError);
    expect(() => parseFlavor({ ...base, ...input })).toThrow(message);
  });
});
