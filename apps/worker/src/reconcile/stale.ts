import { phaseOfStatus } from '@runner-planner/core';
import type { Database, StaleJobPage } from '@runner-planner/database';
import type { PassFailures } from './failures.js';
import { type GitHubClient, showGitHubJob } from './github.js';
import type { GitLabJobSource } from './gitlab.js';
import type { CorrectionChange, ReconcileMetrics } from './metrics.js';

/** What the forge says about a job we hold as incomplete, through the truth model's tables. */
export type ForgeState =
  | { kind: 'held' }
  | { kind: 'waiting' }
  | { kind: 'started'; startedAt: Date }
  | { kind: 'completed'; startedAt: Date | undefined; completedAt: Date }
  | { kind: 'missing' };

export interface StaleCheckOptions {
  db: Database;
  metrics: ReconcileMetrics;
  github: GitHubClient | undefined;
  gitlab: GitLabJobSource | undefined;
  staleAfterMs: number;
  /** Held jobs are looked up after this long without an event or a lookup (default `staleAfterMs`). */
  heldAfterMs?: number;
  batchSize: number;
  /** Forge lookups in flight at once (default 10; octokit's throttling caps GitHub at 10 too). */
  concurrency?: number;
  now: () => Date;
  /** Jobs checked so far of the stale jobs listed so far (the total grows page by page). */
  onProgress?: (done: number, total: number) => void;
  /** Where failed lookups and writes are kept, to be told once per cause after the pass. */
  failures?: PassFailures;
}

export interface StaleCheckReport {
  checked: number;
  corrected: Record<CorrectionChange, number>;
  /** Jobs not looked up: their forge is not configured, or their raw lacks the project/repository. */
  skipped: number;
  errors: number;
}

/** The report of a check that looked nothing up. */
export function emptyStaleReport(): StaleCheckReport {
  return {
    checked: 0,
    corrected: { held: 0, waiting: 0, started: 0, completed: 0, missing: 0 },
    skipped: 0,
    errors: 0,
  };
}

type StaleJob = StaleJobPage['jobs'][number];

const FORGE_NAME = { github: 'GitHub', gitlab: 'GitLab' } as const;
const forgeName = (platform: string) => FORGE_NAME[platform as keyof typeof FORGE_NAME] ?? platform;

function dateOr(value: string | null | undefined, fallback: Date): Date {
  if (!value) return fallback;
  const parsed = new Date(value);
  return Number.isNaN(parsed.getTime()) ? fallback : parsed;
}

function optionalDate(value: string | null | undefined): Date | undefined {
  return value ? dateOr(value, new Date(Number.NaN)) : undefined;
}

/** A field of any stored webhook payload of the job (every action's payload has it). */
function fromRaw<T>(raw: Record<string, unknown>, read: (payload: Record<string, unknown>) => T | undefined) {
  for (const payload of Object.values(raw)) {
    if (typeof payload !== 'object' || payload === null) continue;
    const value = read(payload as Record<string, unknown>);
    if (value !== undefined) return value;
  }
  return undefined;
}

export function githubRepository(raw: Record<string, unknown>): string | undefined {
  return fromRaw(raw, (payload) => {
    const repository = payload.repository as { full_name?: unknown } | undefined;
    const name = repository?.full_name;
    return typeof name === 'string' && /^[^/]+\/[^/]+$/.test(name) ? name : undefined;
  });
}

export function gitlabProject(raw: Record<string, unknown>): number | undefined {
  return fromRaw(raw, (payload) =>
    Number.isSafeInteger(payload.project_id) ? (payload.project_id as number) : undefined,
  );
}

async function mapLimit<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item);
    }
  });
  await Promise.all(lanes);
}

/**
 * Looks up every incomplete job with no event for `staleAfterMs` (held jobs: `heldAfterMs`) on
 * its forge, a batch of `batchSize` at a time, maps the forge's status through the truth model
 * and writes it through the Database calls the webhook path uses: a held job the forge now
 * offers to runners starts counting. A job the forge no longer knows is completed now, with the
 * reason in `raw.reconciled`.
 */
export async function checkStaleJobs(options: StaleCheckOptions): Promise<StaleCheckReport> {
  const { db, metrics } = options;
  const report = emptyStaleReport();

  /**
   * A forge status through the truth model; a status it does not know changes nothing.
   * `ranOnRunner` false: the job ended before any runner took it, so its `started_at` (GitHub
   * fills it with the queue time) is not a start.
   */
  function stateOf(
    platform: 'github' | 'gitlab',
    found: { status: string; started_at: string | null },
    completedAt: string | null,
    ranOnRunner = true,
  ): ForgeState {
    const now = options.now();
    switch (phaseOfStatus(platform, found.status)) {
      case 'waiting':
        return { kind: 'waiting' };
      case 'running':
        return { kind: 'started', startedAt: dateOr(found.started_at, now) };
      case 'ended':
        return {
          kind: 'completed',
          startedAt: ranOnRunner ? optionalDate(found.started_at) : undefined,
          completedAt: dateOr(completedAt, now),
        };
      default:
        // Held, or a status the model does not know yet: nothing to write.
        return { kind: 'held' };
    }
  }

  async function forgeState(job: StaleJob): Promise<ForgeState | undefined> {
    if (job.platform === 'github') {
      const repository = githubRepository(job.raw);
      if (options.github === undefined || repository === undefined) return undefined;
      const found = await showGitHubJob(options.github, repository, job.id);
      if (found === undefined) return { kind: 'missing' };
      return stateOf(
        'github',
        found,
        found.completed_at,
        !(found.runner_id === null && found.runner_name === null),
      );
    }
    if (job.platform === 'gitlab') {
      const project = gitlabProject(job.raw);
      if (options.gitlab === undefined || project === undefined) return undefined;
      const found = await options.gitlab.show(project, job.id);
      if (found === undefined) return { kind: 'missing' };
      return stateOf('gitlab', found, found.finished_at);
    }
    return undefined;
  }

  async function write(job: StaleJob, state: ForgeState): Promise<CorrectionChange | undefined> {
    const at = options.now().toISOString();
    const { platform, id } = job;
    switch (state.kind) {
      case 'held':
        if (job.held) {
          // Still held: not looked up again until RECONCILE_HELD_AFTER passes.
          await db.markJobChecked(platform, id);
          return undefined;
        }
        // Counted as waiting, but the forge holds it (a skipped job reset to created: GitLab
        // sends no hook for either). A start stands: no job goes back from running.
        if (job.startedAt !== null) return undefined;
        return (await db.holdJob(platform, id, job.updatedAt)) ? 'held' : undefined;
      case 'waiting':
        if (!job.held) return undefined;
        await db.updateJobWaiting(platform, id, { reconciled_waiting: { at } });
        return 'waiting';
      case 'started':
        if (job.startedAt !== null) return undefined;
        await db.updateJobStarted(platform, id, state.startedAt, { reconciled_start: { at } });
        return 'started';
      case 'completed':
        await db.updateJobCompleted(platform, id, state.completedAt, {
          reconciled: { state: 'completed', at },
        });
        if (state.startedAt && !Number.isNaN(state.startedAt.getTime()) && job.startedAt === null) {
          await db.updateJobStarted(platform, id, state.startedAt);
        }
        return 'completed';
      case 'missing':
        await db.updateJobCompleted(platform, id, options.now(), {
          reconciled: { reason: `not found on ${FORGE_NAME[platform as 'github' | 'gitlab']}`, at },
        });
        return 'missing';
    }
  }

  /** The job as a person finds it on its forge. */
  function subject(job: StaleJob): string {
    const where =
      job.platform === 'github'
        ? githubRepository(job.raw)
        : `project ${gitlabProject(job.raw) ?? 'unknown'}`;
    return `${job.platform} job ${job.id}${where === undefined ? '' : ` of ${where}`}`;
  }

  async function check(job: StaleJob): Promise<void> {
    const platform = job.platform;
    let state: ForgeState | undefined;
    try {
      state = await forgeState(job);
    } catch (error) {
      report.errors += 1;
      metrics.errors.inc({ platform, kind: 'lookup' });
      options.failures?.add(`${forgeName(platform)} job lookups`, error, subject(job));
      return;
    }
    if (state === undefined) {
      report.skipped += 1;
      return;
    }
    report.checked += 1;
    metrics.checked.inc({ platform });
    try {
      const change = await write(job, state);
      if (change === undefined) return;
      report.corrected[change] += 1;
      metrics.corrected.inc({ platform, change });
    } catch (error) {
      report.errors += 1;
      metrics.errors.inc({ platform, kind: 'write' });
      options.failures?.add(`database writes of ${state.kind} jobs`, error, subject(job));
    }
  }

  let listed = 0;
  let done = 0;
  let cursor: string | undefined;
  do {
    const page = await db.listStaleJobs({
      now: options.now(),
      staleAfterMs: options.staleAfterMs,
      ...(options.heldAfterMs === undefined ? {} : { heldAfterMs: options.heldAfterMs }),
      limit: options.batchSize,
      ...(cursor === undefined ? {} : { after: cursor }),
    });
    listed += page.jobs.length;
    if (page.jobs.length > 0) options.onProgress?.(done, listed);
    await mapLimit(page.jobs, options.concurrency ?? 10, async (job) => {
      await check(job);
      done += 1;
      options.onProgress?.(done, listed);
    });
    cursor = page.cursor;
  } while (cursor !== undefined);
  return report;
}
