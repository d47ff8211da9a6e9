import { createHash, timingSafeEqual } from 'node:crypto';

/** What a configured token is kept as: its SHA-256, so every comparison is between 32 bytes. */
export function tokenDigest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/**
 * True when `token` is one of the tokens `digests` were made from. Digests rather than the
 * tokens are compared, so neither a token's length nor its content leaks through timing, and
 * every digest is compared (no early exit), so the time taken does not tell which one matched.
 */
export function matchesAnyToken(digests: readonly Buffer[], token: string): boolean {
  const given = tokenDigest(token);
  let matched = false;
  for (const expected of digests) {
    matched = timingSafeEqual(given, expected) || matched;
  }
  return matched;
}
