/** Forges whose CI job webhooks runner-planner understands. */
export const PLATFORMS = ['github', 'gitlab'] as const;
export type KnownPlatform = (typeof PLATFORMS)[number];

export function isKnownPlatform(value: string): value is KnownPlatform {
  return (PLATFORMS as readonly string[]).includes(value);
}

/** A kind of runner machine an autoscaler can start; jobs are assigned to flavors. */
export interface Flavor {
  platform: string;
  name: string;
  labels: string[];
  priority: number;
  isDisabled: boolean;
  minimumPressure: number;
  /**
   * GitLab only: whether the flavor takes jobs without tags, as GitLab's `run_untagged` lets a
   * runner. Defaults to true for a flavor without labels (GitLab requires it of a runner without
   * tags) and false for one with labels. Absent on other platforms, whose flavors take any job
   * their labels cover.
   */
  runUntagged?: boolean;
}

/** A CI job as stored; `raw` keeps each webhook action's payload under its action name. */
export interface Job {
  platform: string;
  id: string;
  labels: string[];
  createdAt: Date;
  startedAt: Date | null;
  completedAt: Date | null;
  raw: Record<string, unknown>;
  /**
   * The forge knows the job but does not offer it to runners yet (see `JobPhase` `held`): it is
   * never assigned nor counted until an event or reconciliation says it waits or runs.
   */
  held: boolean;
  /**
   * When a job that was held was first offered to runners (null if it never was held): its
   * staleness window starts there rather than at `createdAt`. Optional for callers that build jobs.
   */
  releasedAt?: Date | null;
  assignedFlavor: string | null;
}

/** What a caller supplies when recording a job (`held` defaults to false): assignment is the store's decision. */
export type NewJob = Omit<Job, 'assignedFlavor' | 'held' | 'releasedAt'> & { held?: boolean };

/**
 * What a general API token may do. `general`, every token's scope unless asked otherwise, is
 * what the original planner's tokens could do (everything but the admin-only routes), so its
 * clients keep working; `read-only` reads pressure, flavors and jobs and changes nothing.
 */
export const TOKEN_SCOPES = ['general', 'read-only'] as const;
export type TokenScope = (typeof TOKEN_SCOPES)[number];

export function isTokenScope(value: unknown): value is TokenScope {
  return (TOKEN_SCOPES as readonly unknown[]).includes(value);
}
