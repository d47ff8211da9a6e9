import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Whether `presented` is `expected`, in a time that says nothing about how much of it matched:
 * both are hashed first, so the comparison is over digests of equal length.
 */
export function sameSecret(presented: string, expected: string): boolean {
  return timingSafeEqual(digest(presented), digest(expected));
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
