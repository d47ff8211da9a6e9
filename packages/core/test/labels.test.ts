import { describe, expect, it } from 'vitest';
import {
  flavorCoversLabels,
  flavorLabels,
  GITHUB_IMPLICIT_LABELS,
  hasLabel,
  normalizeLabels,
  stripImplicitLabels,
} from '../src/index.js';

describe('normalizeLabels', () => {
  it('lowercases, trims, dedupes, drops empties and sorts', () => {
    expect(normalizeLabels([' X64', 'large', 'x64', 'LARGE', '', '  '])).toEqual(['large', 'x64']);
  });

  it('returns an empty list for no labels', () => {
    expect(normalizeLabels([])).toEqual([]);
  });
});

describe('flavorLabels', () => {
  it('lowercases and trims, drops empties, and keeps the order and repeats given', () => {
    expect(flavorLabels(['Self-Hosted', ' X64', 'large', 'x64', '', '  '])).toEqual([
      'self-hosted',
      'x64',
      'large',
      'x64',
    ]);
  });

  it('is the same set as normalizeLabels, so matching does not depend on order', () => {
    const given = ['Noble', 'x64', 'LARGE', 'x64'];
    expect([...new Set(flavorLabels(given))].sort()).toEqual(normalizeLabels(given));
    expect(flavorCoversLabels(flavorLabels(given), ['large', 'NOBLE'])).toBe(true);
    expect(flavorCoversLabels(flavorLabels(given), ['gpu'])).toBe(false);
  });
});

describe('hasLabel', () => {
  it('matches whole labels in any case', () => {
    expect(hasLabel(['Self-Hosted', 'linux'], 'self-hosted')).toBe(true);
    expect(hasLabel(['self-hosted-large'], 'self-hosted')).toBe(false);
    expect(hasLabel(['my-self-hosted'], 'self-hosted')).toBe(false);
  });
});

describe('stripImplicitLabels', () => {
  it("removes GitHub's implicit labels whatever their case", () => {
    expect(GITHUB_IMPLICIT_LABELS).toEqual(['self-hosted', 'linux']);
    expect(stripImplicitLabels(['Self-Hosted', 'LINUX', 'gpu'])).toEqual(['gpu']);
  });

  it('removes the configured extra implicit labels too', () => {
    expect(stripImplicitLabels(['self-hosted', 'X64', 'jammy'], ['x64'])).toEqual(['jammy']);
  });
});
