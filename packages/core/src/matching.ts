import { normalizeLabels } from './labels.js';
import type { Flavor } from './types.js';

/** What matching needs to know of a job. */
export interface MatchableJob {
  platform: string;
  labels: readonly string[];
  completedAt: Date | null;
  /** A held job is not offered to runners, so it gets no flavor (absent → not held). */
  held?: boolean;
}

/** A flavor covers a job when its labels are a superset of (or equal to) the job's, ignoring case. */
export function flavorCoversLabels(flavorLabels: readonly string[], jobLabels: readonly string[]): boolean {
  const offered = new Set(normalizeLabels(flavorLabels));
  return normalizeLabels(jobLabels).every((label) => offered.has(label));
}

/** Whether a flavor takes jobs without labels: GitLab's `run_untagged`; always on other platforms. */
export function takesUntaggedJobs(flavor: Pick<Flavor, 'platform' | 'labels' | 'runUntagged'>): boolean {
  if (flavor.platform !== 'gitlab') return true;
  return flavor.runUntagged ?? normalizeLabels(flavor.labels).length === 0;
}

/** Whether an enabled flavor of the job's platform could run it: labels covered, untagged rule kept. */
export function flavorFitsJob(flavor: Flavor, job: Pick<MatchableJob, 'platform' | 'labels'>): boolean {
  if (flavor.isDisabled || flavor.platform !== job.platform) return false;
  if (normalizeLabels(job.labels).length === 0 && !takesUntaggedJobs(flavor)) return false;
  return flavorCoversLabels(flavor.labels, job.labels);
}

/**
 * The flavors a job may be assigned to: enabled, same platform, covering its labels (and
 * taking untagged jobs if it has none), and of the highest priority among those. Empty for a
 * completed or held job, or when nothing matches.
 */
export function candidateFlavors<F extends Flavor>(flavors: readonly F[], job: MatchableJob): F[] {
  if (job.completedAt !== null || job.held === true) return [];
  const eligible = flavors.filter((flavor) => flavorFitsJob(flavor, job));
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
