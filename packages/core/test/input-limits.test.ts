import { describe, expect, it } from 'vitest';
import {
  argumentSchemas,
  checkArgument,
  hasUnsafeCharacter,
  INPUT_LIMITS,
  InvalidInputError,
  parseFlavor,
} from '../src/index.js';

const flavor = {
  platform: 'github',
  name: 'large',
  labels: ['x64'],
  priority: 0,
  isDisabled: false,
  minimumPressure: 0,
};

const ESC = '\u001b';

describe('limits on new flavors', () => {
  it.each([
    ['a name of 101 characters', { name: 'n'.repeat(INPUT_LIMITS.nameLength + 1) }, 'at most 100 characters'],
    ['a name with an escape sequence', { name: `${ESC}[2Jlarge` }, 'name must not contain control'],
    ['a name with a newline', { name: 'large\nsmall' }, 'name must not contain control'],
    ['a name with a right-to-left override', { name: 'large\u202egpu' }, 'name must not contain control'],
    ['a name with a lone surrogate', { name: 'large\ud800' }, 'name must not contain control'],
    ['65 labels', { labels: Array.from({ length: 65 }, (_, i) => `l${i}`) }, 'at most 64 labels'],
    ['a label of 256 characters', { labels: ['l'.repeat(256)] }, 'at most 255 characters'],
    ['a label with DEL', { labels: ['x64\u007f'] }, 'labels must not contain control'],
    ['a label with a C1 CSI', { labels: ['x64\u009b31m'] }, 'labels must not contain control'],
  ])('refuses %s', (_what, change, message) => {
    expect(() => parseFlavor({ ...flavor, ...change })).toThrow(InvalidInputError);
    expect(() => parseFlavor({ ...flavor, ...change })).toThrow(message);
  });

  it('accepts names and labels at the limits, and any printable script', () => {
    const name = 'é'.repeat(INPUT_LIMITS.nameLength);
    const labels = Array.from({ length: INPUT_LIMITS.labels }, (_, i) => `${'ラ'.repeat(250)}${i}`);
    expect(parseFlavor({ ...flavor, name, labels })).toMatchObject({ name, labels });
  });
});

describe('token names', () => {
  it('refuses new names that are too long or hold control characters, and looks any name up', () => {
    expect(() => checkArgument(argumentSchemas.newTokenName, 'token name', `ci${ESC}]0;x\u0007`)).toThrow(
      'name must not contain control',
    );
    expect(() => checkArgument(argumentSchemas.newTokenName, 'token name', 't'.repeat(101))).toThrow(
      'at most 100 characters',
    );
    expect(checkArgument(argumentSchemas.newTokenName, 'token name', 'autoscaler-1')).toBe('autoscaler-1');
    // Stored before the limits (or imported): still found and deletable.
    expect(checkArgument(argumentSchemas.tokenName, 'token name', `old${ESC}`)).toBe(`old${ESC}`);
  });
});

describe('hasUnsafeCharacter', () => {
  it('finds control, format and separator characters, and nothing in printable text', () => {
    for (const char of [ESC, '\n', '\u007f', '\u009b', '\u200b', '\u202e', '\u2028', '\u2029', '\ud800']) {
      expect(hasUnsafeCharacter(`a${char}b`), JSON.stringify(char)).toBe(true);
    }
    expect(hasUnsafeCharacter('gpu-a100 ラベル é 😀')).toBe(false);
  });
});
