import * as crypto from 'node:crypto';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { matchesAnyToken, tokenDigest } from '../src/token-match.js';

// The real timingSafeEqual, watched: the test checks what it is given, not how long it takes
// (a timing measurement would be flaky on a shared machine).
vi.mock('node:crypto', async (importOriginal) => {
  const original = await importOriginal<typeof import('node:crypto')>();
  return { ...original, timingSafeEqual: vi.fn(original.timingSafeEqual) };
});

const TOKEN = 'gitlab-webhook-token';
const digests = [tokenDigest('old-token'), tokenDigest(TOKEN)];

describe('the GitLab webhook token check', () => {
  beforeEach(() => {
    vi.mocked(crypto.timingSafeEqual).mockClear();
  });

  it.each([
    ['the right token', TOKEN, true],
    ['the previous token (rotation)', 'old-token', true],
    ['a wrong token of the same length', `${TOKEN.slice(0, -1)}X`, false],
    ['a shorter token', TOKEN.slice(0, -1), false],
    ['a longer token', `${TOKEN}x`, false],
    ['an empty token', '', false],
    ['a token differing only in case', TOKEN.toUpperCase(), false],
  ])('%s → %s', (_what, token, accepted) => {
    expect(matchesAnyToken(digests, token)).toBe(accepted);
  });

  it.each([
    ['equal', `${TOKEN.slice(0, -1)}X`],
    ['shorter', 'x'],
    ['much longer', 'x'.repeat(10_000)],
    ['matching', TOKEN],
  ])(
    'compares a %s token with crypto.timingSafeEqual on 32-byte digests, against every configured token',
    (_what, token) => {
      matchesAnyToken(digests, token);
      const calls = vi.mocked(crypto.timingSafeEqual).mock.calls;
      expect(calls).toHaveLength(digests.length);
      for (const [given, expected] of calls) {
        expect(Buffer.from(given as Uint8Array)).toHaveLength(32);
        expect(Buffer.from(expected as Uint8Array)).toHaveLength(32);
      }
    },
  );
});
