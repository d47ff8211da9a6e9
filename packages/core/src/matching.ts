import { normalizeLabels } from './labels.js';
import type { Flavor } from './types.js';

/** What matching needs to know of a job. */
export interface MatchableJob {
  platform: string;
  labels: readonly string[];
  completedAt: Date | null;
}

/** A flavor covers a job when its labels are a superset of (or equal to) the job's, ignoring case. */
export function flavorCoversLabels(flavorLabels: readonly string[], jobLabels: readonly string[]): boolean {
  const offered = new Set(normalizeLabels(flavorLabels));
  return normalizeLabels(jobLabels).every((label) => offered.has(label));
}

/**
 * The flavors a job may be assigned to: enabled, same platform, covering its labels, and of the
 * highest priority among those. Empty for a completed job or when nothing matches.
 */
export function candidateFlavors<F extends Flavor>(flavors: readonly F[], job: MatchableJob): F[] {
  if (job.completedAt !== null) return [];
  const eligible = flavors.filter(
    (flavor) =>
      !flavor.isDisabled && flavor.platform === job.platform && flavorCoversLabels(flavor.labels, job.labels),
  );
  if (eligible.length === 0) return [];
  const top = Math.max(...eligible.map((flavor) => flavor.priority));
  return eligible.filter((flavor) => flavor.priority === top);
}

/**
 * The assignment rule: highest-priority covering flavor, a uniformly random one among equals;
 * null when none matches. `random` returns a number in [0, 1) like Math.random.
 */
export function matchFlavor<F extends Flavor>(
  flavors: readonly F[],
  job: MatchableJob,
  random: () => number = Math.random,
): F | null {
  const candidates = candidateFlavors(flavors, job);
  if (candidates.length === 0) return null;
  return candidates[Math.floor(random() * candidates.length)] ?? null;
}
