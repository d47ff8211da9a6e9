import { normalizeLabels } from './labels.js';
import type { Flavor } from './types.js';

/*
 * The label predicates `explainJob` tells a user with. Which flavor a job gets is decided in
 * PostgreSQL (packages/database/src/sql.ts); ./reference-model.ts states that rule in full.
 */

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
