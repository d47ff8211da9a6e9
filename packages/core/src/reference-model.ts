/**
 * The reference model of assignment and pressure: what runner-planner promises, written as
 * plain functions over arrays. Production does not call it. The rules run in PostgreSQL
 * (packages/database/src/sql.ts and the triggers of its migrations), set-based and under
 * locks, so that a write and the pressure it moves commit together; this model is what they are
 * tested against (packages/database/test/assignment.property.test.ts, the lifecycle simulator
 * in test/truth). Change a rule in the SQL and here together: the property test fails until
 * they agree.
 *
 * Imported as `@runner-planner/core/reference-model`, never from the package's main entry, so a
 * production import of it stands out.
 */
import { normalizeLabels } from './labels.js';
import { flavorCoversLabels, takesUntaggedJobs } from './matching.js';
import { countsTowardPressure, DEFAULT_STALE_AFTER_MS } from './staleness.js';
import type { Flavor, Job } from './types.js';

/** What matching needs to know of a job. */
export interface MatchableJob {
  platform: string;
  labels: readonly string[];
  completedAt: Date | null;
  /** A held job is not offered to runners, so it gets no flavor (absent → not held). */
  held?: boolean;
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

/** Pressure of one flavor over a set of jobs: max(minimum pressure, its jobs that count at `now`). */
export function pressureOf(
  flavor: Pick<Flavor, 'name' | 'minimumPressure'>,
  jobs: Iterable<Pick<Job, 'completedAt' | 'createdAt' | 'assignedFlavor' | 'releasedAt'>>,
  now: Date,
  staleAfterMs: number = DEFAULT_STALE_AFTER_MS,
): number {
  let count = 0;
  for (const job of jobs) {
    if (job.assignedFlavor === flavor.name && countsTowardPressure(job, now, staleAfterMs)) count += 1;
  }
  return Math.max(flavor.minimumPressure, count);
}
