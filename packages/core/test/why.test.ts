import { describe, expect, it } from 'vitest';
import { explainJob, type Flavor, type Job } from '../src/index.js';

const now = new Date('2026-12-03T10:00:00Z');
const flavor = (name: string, overrides: Partial<Flavor> = {}): Flavor => ({
  platform: 'gitlab',
  name,
  labels: ['docker'],
  priority: 0,
  isDisabled: false,
  minimumPressure: 0,
  ...overrides,
});
const job = (overrides: Partial<Job> = {}): Job => ({
  platform: 'gitlab',
  id: '42',
  labels: ['docker'],
  createdAt: new Date('2026-12-03T09:00:00Z'),
  startedAt: null,
  completedAt: null,
  raw: { created: {}, pending: {} },
  held: false,
  assignedFlavor: 'docker',
  ...overrides,
});
const refusals = (flavors: Flavor[], explained: Job) =>
  Object.fromEntries(explainJob(explained, flavors, now).flavors.map((v) => [v.flavor, v.refusal]));

describe('explainJob', () => {
  it('names, for every flavor, why it would not take the job', () => {
    const flavors = [
      flavor('docker', { priority: 5 }),
      flavor('small-docker', { priority: 1 }),
      flavor('gpu', { labels: ['gpu'] }),
      flavor('off', { isDisabled: true }),
      flavor('hub', { platform: 'github' }),
    ];
    expect(refusals(flavors, job())).toEqual({
      docker: null,
      'small-docker': 'lower-priority',
      gpu: 'missing-labels',
      off: 'disabled',
      hub: 'other-platform',
    });
    const explained = explainJob(job(), flavors, now);
    expect(explained.flavors.map((v) => v.flavor)).toEqual(['docker', 'gpu', 'off', 'small-docker', 'hub']);
    expect(explained.flavors.find((v) => v.flavor === 'gpu')).toMatchObject({
      missingLabels: ['docker'],
      detail: 'lacks labels: docker',
    });
    expect(explained).toMatchObject({
      phase: 'waiting',
      forgeStatus: 'pending',
      counted: true,
      summary: 'waiting for a runner (forge status pending): counts toward docker',
    });
  });

  it('says an untagged GitLab job goes only to flavors that take untagged jobs', () => {
    const flavors = [flavor('tagged'), flavor('open', { runUntagged: true }), flavor('bare', { labels: [] })];
    const untagged = job({ labels: [], assignedFlavor: 'open' });
    expect(refusals(flavors, untagged)).toEqual({ tagged: 'untagged', open: null, bare: null });
  });

  it('explains a job no flavor fits, a held job, a completed job and a stale one', () => {
    const gpuJob = job({ labels: ['gpu'], assignedFlavor: null, startedAt: now });
    expect(explainJob(gpuJob, [flavor('docker')], now)).toMatchObject({
      phase: 'running',
      counted: false,
      summary: 'running (forge status pending), but no enabled flavor fits it: it counts nowhere',
    });
    expect(
      explainJob(job({ held: true, assignedFlavor: null, raw: { created: {} } }), [], now),
    ).toMatchObject({
      phase: 'held',
      counted: false,
      forgeStatus: 'created',
    });
    // Recorded before the flavor appeared (e.g. a flavor change still in flight).
    expect(explainJob(job({ assignedFlavor: null }), [flavor('docker')], now).summary).toBe(
      'waiting for a runner (forge status pending) and fits docker, but is not assigned yet: it counts nowhere until a flavor change re-matches it',
    );
    const done = job({ completedAt: new Date('2026-12-03T09:30:00Z'), raw: { success: {} } });
    expect(explainJob(done, [], now).summary).toBe(
      'completed at 2026-12-03T09:30:00.000Z (forge status success): no longer demand',
    );
    const stale = job({ createdAt: new Date('2026-11-01T00:00:00Z') });
    expect(explainJob(stale, [flavor('docker')], now)).toMatchObject({ counted: false });
    expect(explainJob(stale, [flavor('docker')], now).summary).toContain('staleness window');
    // Released a moment ago: its window starts at the release.
    expect(explainJob({ ...stale, releasedAt: now }, [flavor('docker')], now).counted).toBe(true);
  });
});
