import { describe, expect, it } from 'vitest';
import { flavorCoversLabels, takesUntaggedJobs } from '../src/index.js';
import { flavor } from './support.js';

describe('flavorCoversLabels', () => {
  it('accepts a superset or an equal set, ignoring case and order', () => {
    expect(flavorCoversLabels(['X64', 'large'], ['large'])).toBe(true);
    expect(flavorCoversLabels(['large', 'x64'], ['X64', 'LARGE'])).toBe(true);
    expect(flavorCoversLabels(['large'], ['large', 'gpu'])).toBe(false);
  });

  it('lets any flavor cover a job without labels', () => {
    expect(flavorCoversLabels([], [])).toBe(true);
    expect(flavorCoversLabels(['x'], [])).toBe(true);
  });
});

describe('takesUntaggedJobs (GitLab run_untagged)', () => {
  const gitlab = (name: string, labels: string[], runUntagged?: boolean) =>
    flavor(name, { platform: 'gitlab', labels, ...(runUntagged === undefined ? {} : { runUntagged }) });

  it('a GitLab flavor takes untagged jobs when it has no labels or opts in; other platforms always', () => {
    expect(takesUntaggedJobs(gitlab('bare', []))).toBe(true);
    expect(takesUntaggedJobs(gitlab('tagged', ['docker']))).toBe(false);
    expect(takesUntaggedJobs(gitlab('open', ['docker'], true))).toBe(true);
    expect(takesUntaggedJobs(flavor('hub', { labels: ['large'] }))).toBe(true);
  });
});
