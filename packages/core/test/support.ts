import type { Flavor } from '../src/index.js';

/** An enabled GitHub flavor without labels, priority or minimum pressure, but for `overrides`. */
export const flavor = (name: string, overrides: Partial<Flavor> = {}): Flavor => ({
  platform: 'github',
  name,
  labels: [],
  priority: 0,
  isDisabled: false,
  minimumPressure: 0,
  ...overrides,
});
