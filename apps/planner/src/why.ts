import {
  explainJob,
  type Flavor,
  type FlavorRefusal,
  type Job,
  type JobExplanation,
  type JobPhase,
  PLATFORMS,
} from '@runner-planner/core';
import type { Database } from '@runner-planner/database';

/**
 * "Why is my job not picked up?", shared by `GET /api/jobs/{platform}/{id}/why` and
 * `runner-planner jobs why` (exported as `@runner-planner/planner/why`, which loads only the
 * domain), so that the CLI's `--json` is the route's answer byte for byte.
 */

export interface FlavorVerdictJson {
  flavor: string;
  platform: string;
  priority: number;
  refusal: FlavorRefusal | null;
  missing_labels: string[];
  detail: string;
}

export interface JobExplanationJson {
  platform: string;
  id: string;
  labels: string[];
  phase: JobPhase;
  forge_status: string | null;
  assigned_flavor: string | null;
  counted: boolean;
  summary: string;
  flavors: FlavorVerdictJson[];
}

/**
 * Said of a job the store does not have: the most common reasons are a webhook that never
 * arrived and a job the worker ignores, which is the very question asked.
 */
export const NEVER_RECORDED =
  'no event of it was recorded (a webhook that never arrived, or a job the worker ignores, such as a GitHub job without the self-hosted label)';

/** Every flavor of every platform: a job's own platform's flavors are not the only answer to "why not there?". */
export async function allFlavors(db: Database): Promise<Flavor[]> {
  return (await Promise.all(PLATFORMS.map((platform) => db.listFlavors(platform)))).flat();
}

/** The job explained against every flavor, now, with the staleness window the store counts pressure with. */
export async function explainRecordedJob(db: Database, job: Job, now = new Date()): Promise<JobExplanation> {
  return explainJob(job, await allFlavors(db), now, db.pressureStaleAfterMs);
}

export function explanationToJson(explanation: JobExplanation): JobExplanationJson {
  return {
    platform: explanation.platform,
    id: explanation.id,
    labels: explanation.labels,
    phase: explanation.phase,
    forge_status: explanation.forgeStatus ?? null,
    assigned_flavor: explanation.assignedFlavor,
    counted: explanation.counted,
    summary: explanation.summary,
    flavors: explanation.flavors.map((verdict) => ({
      flavor: verdict.flavor,
      platform: verdict.platform,
      priority: verdict.priority,
      refusal: verdict.refusal,
      missing_labels: verdict.missingLabels,
      detail: verdict.detail,
    })),
  };
}
