import type { Flavor } from '../src/index.js';

export const PLATFORM = 'github';

const ARCHES = ['x64', 'arm64'];
const SYSTEMS = ['jammy', 'noble'];
const SIZES = ['small', 'medium', 'large', 'xlarge', '2xlarge'];
const EXTRAS = ['', 'gpu', 'docker', 'edge', 'fips'];

/**
 * 100 GitHub flavors: every arch × OS × size × extra. Labels are [arch, os, size, extra?], so a job
 * asking for e.g. ["x64", "large"] is covered by ten flavors and priority (with ties) decides.
 */
export function benchFlavors(): Flavor[] {
  const flavors: Flavor[] = [];
  for (const arch of ARCHES) {
    for (const os of SYSTEMS) {
      for (const size of SIZES) {
        for (const extra of EXTRAS) {
          const i = flavors.length;
          const labels = extra ? [arch, os, size, extra] : [arch, os, size];
          flavors.push({
            platform: PLATFORM,
            name: labels.join('-'),
            labels,
            // Four priority levels spread over the flavors, so equal priorities (random pick) happen.
            priority: (((i * 37) % 11) % 4) * 10,
            isDisabled: false,
            minimumPressure: i % 10 === 0 ? 2 : 0,
          });
        }
      }
    }
  }
  return flavors;
}

/** Label sets that some flavor covers, in a fixed order: what the addJob scenario submits. */
export function matchingLabelSets(): string[][] {
  const sets: string[][] = [];
  for (const flavor of benchFlavors()) {
    const [arch = '', os = '', size = ''] = flavor.labels;
    sets.push(flavor.labels, [arch, os, size], [arch, size], [size]);
  }
  return sets;
}
