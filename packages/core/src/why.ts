import { normalizeLabels } from './labels.js';
import { isDemand, type JobPhase, latestStatus } from './lifecycle.js';
import { flavorCoversLabels, takesUntaggedJobs } from './matching.js';
import { countsTowardPressure, DEFAULT_STALE_AFTER_MS } from './staleness.js';
import type { Flavor, Job } from './types.js';

/** Why a flavor would not take a job; null when it would. */
export type FlavorRefusal = 'other-platform' | 'disabled' | 'missing-labels' | 'untagged' | 'lower-priority';

export interface FlavorVerdict {
  flavor: string;
  platform: string;
  priority: number;
  /** null: the flavor is one of the job's best candidates. */
  refusal: FlavorRefusal | null;
  /** Job labels the flavor does not have (empty when it covers them all). */
  missingLabels: string[];
  /** The refusal in words, or why the flavor is a candidate. */
  detail: string;
}

export interface JobExplanation {
  platform: string;
  id: string;
  labels: string[];
  phase: JobPhase;
  /** The furthest-along forge status among the job's stored payloads, when known. */
  forgeStatus: string | undefined;
  assignedFlavor: string | null;
  /** Whether the job adds to a flavor's pressure right now. */
  counted: boolean;
  /** One sentence: where the job stands and what would change it. */
  summary: string;
  /** Every flavor: the job's own platform first, then by name. */
  flavors: FlavorVerdict[];
}

/**
 * Said of a job the store does not have: the most common reasons are a webhook that never
 * arrived and a job the worker ignores, which is the very question asked.
 */
export const NEVER_RECORDED =
  'no event of it was recorded (a webhook that never arrived, or a job the worker ignores, such as a GitHub job without the self-hosted label)';

/** Where a stored job stands in the truth model. */
export function phaseOfJob(job: Pick<Job, 'completedAt' | 'startedAt' | 'held'>): JobPhase {
  if (job.completedAt !== null) return 'ended';
  if (job.held) return 'held';
  return job.startedAt !== null ? 'running' : 'waiting';
}

const list = (labels: readonly string[]) => (labels.length === 0 ? 'none' : labels.join(', '));

function verdictOf(flavor: Flavor, job: Job, topPriority: number | undefined): FlavorVerdict {
  const jobLabels = normalizeLabels(job.labels);
  const offered = new Set(normalizeLabels(flavor.labels));
  const missingLabels = jobLabels.filter((label) => !offered.has(label));
  const verdict = (refusal: FlavorRefusal | null, detail: string): FlavorVerdict => ({
    flavor: flavor.name,
    platform: flavor.platform,
    priority: flavor.priority,
    refusal,
    missingLabels,
    detail,
  });
  if (flavor.platform !== job.platform) {
    return verdict('other-platform', `a ${flavor.platform} flavor; the job is a ${job.platform} job`);
  }
  if (flavor.isDisabled) return verdict('disabled', 'disabled');
  if (!flavorCoversLabels(flavor.labels, jobLabels)) {
    return verdict('missing-labels', `lacks labels: ${missingLabels.join(', ')}`);
  }
  if (jobLabels.length === 0 && !takesUntaggedJobs(flavor)) {
    return verdict('untagged', 'takes no untagged jobs (run_untagged is false)');
  }
  if (topPriority !== undefined && flavor.priority < topPriority) {
    return verdict(
      'lower-priority',
      `priority ${flavor.priority} is below ${topPriority} of a flavor that fits`,
    );
  }
  return verdict(null, `fits: covers labels ${list(jobLabels)} at the highest priority`);
}

function summaryOf(
  job: Job,
  phase: JobPhase,
  forgeStatus: string | undefined,
  counted: boolean,
  fitting: readonly Flavor[],
): string {
  const status = forgeStatus === undefined ? '' : ` (forge status ${forgeStatus})`;
  switch (phase) {
    case 'ended':
      return `completed at ${job.completedAt?.toISOString()}${status}: no longer demand`;
    case 'held':
      return `held by the forge${status}: not offered to runners yet, so it counts nowhere until it is`;
    default:
      if (job.assignedFlavor === null && fitting.length > 0) {
        // Assignment runs when a job is recorded or released and when flavors change.
        return `${phase === 'running' ? 'running' : 'waiting for a runner'}${status} and fits ${fitting.map((f) => f.name).join(', ')}, but is not assigned yet: it counts nowhere until a flavor change re-matches it`;
      }
      if (job.assignedFlavor === null) {
        return `${phase === 'running' ? 'running' : 'waiting for a runner'}${status}, but no enabled flavor fits it: it counts nowhere`;
      }
      if (!counted) {
        return `assigned to ${job.assignedFlavor}${status}, but created longer ago than the staleness window: it no longer counts`;
      }
      return `${phase === 'running' ? 'running' : 'waiting for a runner'}${status}: counts toward ${job.assignedFlavor}`;
  }
}

/**
 * Answers "why is my job not picked up?": the job's phase, whether it counts, and for every
 * flavor whether it could take the job or why not (other platform, disabled, lacking labels,
 * not taking untagged jobs, or outranked by a flavor that fits).
 */
export function explainJob(
  job: Job,
  flavors: readonly Flavor[],
  now: Date,
  staleAfterMs: number = DEFAULT_STALE_AFTER_MS,
): JobExplanation {
  const phase = phaseOfJob(job);
  const forgeStatus = latestStatus(job.platform, Object.keys(job.raw));
  const fitting = flavors.filter((flavor) => verdictOf(flavor, job, undefined).refusal === null);
  const topPriority =
    fitting.length === 0 ? undefined : Math.max(...fitting.map((flavor) => flavor.priority));
  const ordered = [...flavors].sort(
    (a, b) =>
      Number(a.platform !== job.platform) - Number(b.platform !== job.platform) ||
      (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );
  const counted = isDemand(phase) && countsTowardPressure(job, now, staleAfterMs);
  return {
    platform: job.platform,
    id: job.id,
    labels: normalizeLabels(job.labels),
    phase,
    forgeStatus,
    assignedFlavor: job.assignedFlavor,
    counted,
    summary: summaryOf(job, phase, forgeStatus, counted, fitting),
    flavors: ordered.map((flavor) => verdictOf(flavor, job, topPriority)),
  };
}
