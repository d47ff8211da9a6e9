/**
 * The truth model: which states of a forge's job are runner demand. docs/pressure.md has the
 * same tables with the forge documentation and source each row rests on; webhook parsing and
 * reconciliation both read these tables, so the two cannot disagree.
 */

/**
 * Where a job stands for an autoscaler:
 * - `held`: the forge knows the job but will not hand it to a runner yet (earlier stages, a
 *   person, a timer, a resource lock, deployment approval). Recorded, never counted.
 * - `waiting`: waits for a runner of its flavor. Demand.
 * - `running`: runs on a runner of its flavor. Demand.
 * - `ended`: finished, whatever the outcome. No demand, and never demand again.
 */
export type JobPhase = 'held' | 'waiting' | 'running' | 'ended';

/** Phases in which a job needs a machine of its flavor. */
export function isDemand(phase: JobPhase): boolean {
  return phase === 'waiting' || phase === 'running';
}

interface StatusMeaning {
  phase: JobPhase;
  /**
   * Position in the forge's own lifecycle, for naming the furthest-along status among a job's
   * stored payloads whatever order they arrived in. Not a promise that jobs only move up:
   * GitLab resets a `skipped` job to `created`.
   */
  rank: number;
}

/**
 * GitLab job statuses (`build_status` in a Job Hook, `status` from the Jobs API). A job moves
 * created → (manual | scheduled) → waiting_for_resource → preparing → pending → running →
 * canceling → success | failed | canceled, skipping steps; a retry is a new job. `skipped` is
 * not an end: when an earlier job is retried, GitLab resets the skipped jobs after it to
 * `created` (Ci::ResetSkippedJobsService), and they run under the same id.
 */
export const GITLAB_STATUSES: Readonly<Record<string, StatusMeaning>> = {
  created: { phase: 'held', rank: 0 },
  skipped: { phase: 'held', rank: 0 },
  manual: { phase: 'held', rank: 1 },
  scheduled: { phase: 'held', rank: 1 },
  waiting_for_resource: { phase: 'held', rank: 2 },
  preparing: { phase: 'held', rank: 3 },
  waiting_for_callback: { phase: 'held', rank: 3 },
  pending: { phase: 'waiting', rank: 4 },
  running: { phase: 'running', rank: 5 },
  canceling: { phase: 'running', rank: 6 },
  success: { phase: 'ended', rank: 7 },
  failed: { phase: 'ended', rank: 7 },
  canceled: { phase: 'ended', rank: 7 },
};

/**
 * GitHub `workflow_job` statuses (the payload's `workflow_job.status` and the REST job's
 * `status`). `waiting` is a job held by deployment protection rules until they pass;
 * `requested` and `pending` come before GitHub offers the job to runners.
 */
export const GITHUB_STATUSES: Readonly<Record<string, StatusMeaning>> = {
  requested: { phase: 'held', rank: 0 },
  pending: { phase: 'held', rank: 0 },
  waiting: { phase: 'held', rank: 1 },
  queued: { phase: 'waiting', rank: 2 },
  in_progress: { phase: 'running', rank: 3 },
  completed: { phase: 'ended', rank: 4 },
};

const FORGE_STATUSES: Readonly<Record<string, Readonly<Record<string, StatusMeaning>>>> = {
  github: GITHUB_STATUSES,
  gitlab: GITLAB_STATUSES,
};

/** What a forge status means for demand; undefined for a platform or status the model does not know. */
export function statusMeaning(platform: string, status: string): StatusMeaning | undefined {
  const table = Object.hasOwn(FORGE_STATUSES, platform) ? FORGE_STATUSES[platform] : undefined;
  return table !== undefined && Object.hasOwn(table, status) ? table[status] : undefined;
}

/** The phase of a forge status, or undefined for one the model does not know. */
export function phaseOfStatus(platform: string, status: string): JobPhase | undefined {
  return statusMeaning(platform, status)?.phase;
}

/** The furthest-along status among those given (for example a job's stored payloads' names). */
export function latestStatus(platform: string, statuses: Iterable<string>): string | undefined {
  let latest: { status: string; rank: number } | undefined;
  for (const status of statuses) {
    const meaning = statusMeaning(platform, status);
    if (meaning !== undefined && (latest === undefined || meaning.rank > latest.rank)) {
      latest = { status, rank: meaning.rank };
    }
  }
  return latest?.status;
}
