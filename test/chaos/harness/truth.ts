import { randomUUID } from 'node:crypto';
import { gitlabJobHook } from '../../support/system.js';

export type Platform = 'github' | 'gitlab';

/** How far a job gets by the end of the stream. */
export type Outcome = 'queued' | 'in_progress' | 'completed';

export interface FlavorSpec {
  name: string;
  platform: Platform;
  /** The flavor's labels. */
  labels: string[];
  /** What a job of this flavor carries: GitHub `labels` (implicit ones included) or GitLab `tag_list`. */
  jobLabels: string[];
}

/**
 * Label sets that never overlap, so each job has exactly one flavor and the expected pressure
 * is known. Mixed case and GitHub's implicit labels check the normalisation on the way.
 */
export const FLAVORS: readonly FlavorSpec[] = [
  { name: 'gh-small', platform: 'github', labels: ['small'], jobLabels: ['self-hosted', 'linux', 'small'] },
  {
    name: 'gh-large-x64',
    platform: 'github',
    labels: ['large', 'x64'],
    jobLabels: ['self-hosted', 'Large', 'X64'],
  },
  { name: 'gh-gpu', platform: 'github', labels: ['gpu'], jobLabels: ['self-hosted', 'linux', 'GPU'] },
  { name: 'gl-docker', platform: 'gitlab', labels: ['docker'], jobLabels: ['docker'] },
  { name: 'gl-arm-shell', platform: 'gitlab', labels: ['arm64', 'shell'], jobLabels: ['shell', 'ARM64'] },
];

export interface TruthJob {
  platform: Platform;
  id: number;
  /** GitLab project the job belongs to (its tags are looked up there). */
  projectId: number;
  flavor: FlavorSpec;
  outcome: Outcome;
  createdAt: Date;
  /** Set when the outcome is in_progress or completed. */
  startedAt: Date | null;
  completedAt: Date | null;
}

export type Phase = 'queued' | 'started' | 'completed';

/** One webhook delivery of the stream; a retry sends the same delivery id and body. */
export interface StreamEvent {
  job: TruthJob;
  phase: Phase;
  deliveryId: string;
  /** The key this event's payload is stored under in the job's `raw`: proof that it was applied. */
  rawKey: string;
  body: string;
}

export interface StreamPlan {
  jobs: TruthJob[];
  events: StreamEvent[];
  /** Expected pressure of every flavor once the stream is applied. */
  pressures: Record<Platform, Record<string, number>>;
}

/** Events of a job are this many stream slots apart: the stream interleaves jobs at every stage. */
const START_LAG = 17;
const COMPLETE_LAG = 41;
const GITLAB_PROJECTS = [380, 381, 382];

/** Three in five jobs complete, one stays in progress, one stays queued. */
function outcomeOf(index: number): Outcome {
  const slot = index % 5;
  if (slot === 3) return 'in_progress';
  if (slot === 4) return 'queued';
  return 'completed';
}

/**
 * The truth for `count` jobs: their flavors, how far each gets, and the ordered stream of
 * signed-webhook events that takes them there. Times are whole seconds within the last hours,
 * well inside the pressure staleness window.
 */
export function planStream(count: number, now = Date.now()): StreamPlan {
  const base = Math.floor(now / 1000) * 1000 - 3 * 3_600_000;
  const jobs: TruthJob[] = [];
  for (let index = 0; index < count; index++) {
    // Flavor by a different modulus than the outcome, so every flavor gets every outcome.
    const flavor = FLAVORS[Math.floor(index / 5 + index) % FLAVORS.length] as FlavorSpec;
    const outcome = outcomeOf(index);
    const createdAt = new Date(base + index * 1000);
    jobs.push({
      platform: flavor.platform,
      id: 10_000 + index,
      projectId: GITLAB_PROJECTS[index % GITLAB_PROJECTS.length] as number,
      flavor,
      outcome,
      createdAt,
      startedAt: outcome === 'queued' ? null : new Date(createdAt.getTime() + 60_000),
      completedAt: outcome === 'completed' ? new Date(createdAt.getTime() + 180_000) : null,
    });
  }

  const scheduled: { slot: number; event: StreamEvent }[] = [];
  jobs.forEach((job, index) => {
    scheduled.push({ slot: index, event: eventOf(job, 'queued') });
    if (job.startedAt) scheduled.push({ slot: index + START_LAG, event: eventOf(job, 'started') });
    if (job.completedAt) scheduled.push({ slot: index + COMPLETE_LAG, event: eventOf(job, 'completed') });
  });
  scheduled.sort((a, b) => a.slot - b.slot);

  const pressures: StreamPlan['pressures'] = { github: {}, gitlab: {} };
  for (const flavor of FLAVORS) pressures[flavor.platform][flavor.name] = 0;
  for (const job of jobs) {
    const open = pressures[job.platform];
    if (job.outcome !== 'completed') open[job.flavor.name] = (open[job.flavor.name] ?? 0) + 1;
  }
  return { jobs, events: scheduled.map(({ event }) => event), pressures };
}

function eventOf(job: TruthJob, phase: Phase): StreamEvent {
  const { rawKey, payload } = job.platform === 'github' ? githubEvent(job, phase) : gitlabEvent(job, phase);
  return { job, phase, deliveryId: randomUUID(), rawKey, body: JSON.stringify(payload) };
}

const GITHUB_ACTIONS: Record<Phase, string> = {
  queued: 'queued',
  started: 'in_progress',
  completed: 'completed',
};

function githubEvent(job: TruthJob, phase: Phase) {
  const action = GITHUB_ACTIONS[phase];
  const started = phase === 'queued' ? null : iso(job.startedAt);
  return {
    rawKey: action,
    payload: {
      action,
      workflow_job: {
        id: job.id,
        run_id: 900_000 + job.id,
        name: 'build',
        status: action,
        conclusion: phase === 'completed' ? 'success' : null,
        labels: job.flavor.jobLabels,
        created_at: iso(job.createdAt),
        started_at: started,
        completed_at: phase === 'completed' ? iso(job.completedAt) : null,
      },
      repository: { id: 4242, full_name: 'chaos/stream' },
    },
  };
}

function gitlabEvent(job: TruthJob, phase: Phase) {
  // Failed jobs count as completed too; alternate so both statuses go through.
  const finished = job.id % 2 === 0 ? 'success' : 'failed';
  const status = phase === 'queued' ? 'pending' : phase === 'started' ? 'running' : finished;
  const started = phase === 'queued' ? null : iso(job.startedAt);
  const finishedAt = phase === 'completed' ? iso(job.completedAt) : null;
  return {
    rawKey: status,
    payload: gitlabJobHook({
      build_id: job.id,
      project_id: job.projectId,
      build_status: status,
      build_created_at: iso(job.createdAt),
      build_created_at_iso: iso(job.createdAt),
      build_started_at: started,
      build_started_at_iso: started,
      build_finished_at: finishedAt,
      build_finished_at_iso: finishedAt,
    }),
  };
}

function iso(date: Date | null): string | null {
  return date === null ? null : date.toISOString();
}
