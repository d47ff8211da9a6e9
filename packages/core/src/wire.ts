import type { JobPhase } from './lifecycle.js';
import type { Flavor, Job } from './types.js';
import type { FlavorRefusal, JobExplanation } from './why.js';

/** A flavor in the planner v1 wire format (snake_case JSON), as its API and the CLI print it. */
export interface FlavorJson {
  platform: string;
  name: string;
  labels: string[];
  priority: number;
  is_disabled: boolean;
  minimum_pressure: number;
  /** GitLab flavors only, so the original v1 format of GitHub flavors is unchanged. */
  run_untagged?: boolean;
}

/** A job in the planner v1 wire format, timestamps as RFC 3339 strings. */
export interface JobJson {
  platform: string;
  id: string;
  labels: string[];
  created_at: string;
  started_at: string | null;
  completed_at: string | null;
  raw: Record<string, unknown>;
  assigned_flavor: string | null;
}

export function flavorToJson(flavor: Flavor): FlavorJson {
  return {
    platform: flavor.platform,
    name: flavor.name,
    labels: flavor.labels,
    priority: flavor.priority,
    is_disabled: flavor.isDisabled,
    minimum_pressure: flavor.minimumPressure,
    ...(flavor.runUntagged === undefined ? {} : { run_untagged: flavor.runUntagged }),
  };
}

export function jobToJson(job: Job): JobJson {
  return {
    platform: job.platform,
    id: job.id,
    labels: job.labels,
    created_at: job.createdAt.toISOString(),
    started_at: job.startedAt?.toISOString() ?? null,
    completed_at: job.completedAt?.toISOString() ?? null,
    raw: job.raw,
    assigned_flavor: job.assignedFlavor,
  };
}

/** A flavor's verdict on a job, as `GET /api/jobs/{platform}/{id}/why` and `jobs why --json` print it. */
export interface FlavorVerdictJson {
  flavor: string;
  platform: string;
  priority: number;
  refusal: FlavorRefusal | null;
  missing_labels: string[];
  detail: string;
}

/** "Why is my job not picked up?" in snake_case JSON: the planner route's answer and the CLI's `--json`. */
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
