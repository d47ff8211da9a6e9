import { describe, expect, it } from 'vitest';
import {
  DEAD_LETTER_RETENTION,
  envelopeSchema,
  MAX_ATTEMPTS,
  queueJobId,
  removeOnFail,
  retryDelayMs,
  webhookJobOptions,
} from '../src/index.js';

describe('queueJobId', () => {
  it('prefixes the platform and removes the key separator', () => {
    expect(queueJobId('github', '72d3162e-cc78-11e3-81ab-4c9367dc0958')).toBe(
      'github-72d3162e-cc78-11e3-81ab-4c9367dc0958',
    );
    expect(queueJobId('gitlab', 'a:b:c')).toBe('gitlab-a_b_c');
    expect(queueJobId('gitlab', '12345')).toBe('gitlab-12345');
  });
});

describe('retryDelayMs', () => {
  it('doubles from one second up to a minute, with jitter between half and all of it', () => {
    expect(retryDelayMs(1, () => 0.999_999)).toBe(1_000);
    expect(retryDelayMs(2, () => 0.999_999)).toBe(2_000);
    expect(retryDelayMs(4, () => 0.999_999)).toBe(8_000);
    expect(retryDelayMs(30, () => 0.999_999)).toBe(60_000);
    expect(retryDelayMs(30, () => 0)).toBe(30_000);
    expect(retryDelayMs(3, () => 0)).toBe(2_000);
  });

  it('keeps retrying for half a day to a day before parking a job', () => {
    expect(webhookJobOptions.attempts).toBe(MAX_ATTEMPTS);
    const totalMs = (random: () => number) =>
      Array.from({ length: MAX_ATTEMPTS }, (_, i) => retryDelayMs(i + 1, random)).reduce(
        (sum, ms) => sum + ms,
        0,
      );
    expect(totalMs(() => 0)).toBeGreaterThan(11.9 * 3_600_000);
    expect(totalMs(() => 0.999_999)).toBeLessThan(24 * 3_600_000);
  });

  it('leaves dead-letter retention to the worker, capped by count and age by default', () => {
    // A job's own removeOnFail would override the worker's configured retention.
    expect(webhookJobOptions).not.toHaveProperty('removeOnFail');
    expect(DEAD_LETTER_RETENTION).toEqual({ count: 5_000, ageMs: 7 * 86_400_000 });
    expect(removeOnFail({ count: 10, ageMs: 1_500 })).toEqual({ count: 10, age: 1.5 });
  });
});

describe('envelopeSchema', () => {
  const envelope = {
    platform: 'github',
    deliveryId: 'd1',
    event: 'workflow_job',
    receivedAt: '2026-11-28T04:00:00.000Z',
    headers: { 'x-github-event': 'workflow_job' },
    body: '{"action":"queued"}',
  };

  it('accepts a well-formed envelope', () => {
    expect(envelopeSchema.parse(envelope)).toEqual(envelope);
  });

  it.each([
    [{ platform: 'bitbucket' }],
    [{ deliveryId: '' }],
    [{ receivedAt: 'yesterday' }],
    [{ body: { action: 'queued' } }],
    [{ headers: { a: 1 } }],
  ])('rejects %j', (change) => {
    expect(envelopeSchema.safeParse({ ...envelope, ...change }).success).toBe(false);
  });
});
