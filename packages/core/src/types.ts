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
  assignedFlavor: string | null;
}

/** What a caller supplies when recording a job: assignment is the store's decision. */
export type NewJob = Omit<Job, 'assignedFlavor'>;
