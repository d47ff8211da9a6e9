import { GitbeakerRequestError, Gitlab } from '@gitbeaker/rest';
import { normalizeLabels } from '@runner-planner/core';
import { LRUCache } from 'lru-cache';

/** A job's tags never change, so a resolved job stays cached until evicted by newer ones. */
const CACHED_JOBS = 50_000;
/** Refused ids remembered at once; a flood of distinct forged ids evicts the oldest. */
const CACHED_REFUSALS = 10_000;
/** How long a refusal is remembered unless told otherwise. */
const DEFAULT_REFUSAL_CACHE_MS = 60_000;

/**
 * Answers no retry soon will change: the token is not accepted (401), it may not read the
 * project's jobs (403), or GitLab knows no such job or project, or hides it from the token (404).
 */
const REFUSED_STATUSES = new Set([401, 403, 404]);
/** A 401 refuses the token itself, whatever the job: remembered once for the whole host. */
const TOKEN_REFUSED = '*';

/** The GitLab API could not tell a job's tags: the event must wait and be retried, never guessed. */
export class TagLookupError extends Error {
  override readonly name: string = 'TagLookupError';
}

/** GitLab refused the lookup (401, 403, 404): retrying soon will very likely get the same answer. */
export class TagRefusedError extends TagLookupError {
  override readonly name = 'TagRefusedError';
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

export interface JobTagSource {
  /**
   * `lastRefusedAt`: when the event asking was last refused (ms since the epoch). A refusal
   * remembered from before then is what that event already heard, so GitLab is asked again;
   * one remembered since (another event of the job asked meanwhile) answers for it.
   */
  tags(projectId: number, jobId: string, lastRefusedAt?: number): Promise<string[]>;
}

interface Refusal {
  error: TagRefusedError;
  at: number;
}

export interface GitLabTagResolverOptions {
  url: string;
  token: string;
  /**
   * How long a refusal is answered from memory (default a minute): a burst of events for one
   * refused job, and their retries, cost one API call per round of retries.
   */
  refusalCacheMs?: number;
}

/**
 * Resolves GitLab job tags (`tag_list`) through the REST API, since the Job Hook omits them.
 * One resolver talks to one GitLab host, so its caches are per host.
 */
export class GitLabTagResolver implements JobTagSource {
  private readonly api: Gitlab<false>;
  private readonly cache = new LRUCache<string, string[]>({ max: CACHED_JOBS });
  private readonly refused: LRUCache<string, Refusal>;
  private readonly inFlight = new Map<string, Promise<string[]>>();

  constructor(options: GitLabTagResolverOptions) {
    this.api = new Gitlab({ host: options.url, token: options.token });
    this.refused = new LRUCache({
      max: CACHED_REFUSALS,
      ttl: options.refusalCacheMs ?? DEFAULT_REFUSAL_CACHE_MS,
    });
  }

  async tags(projectId: number, jobId: string, lastRefusedAt = 0): Promise<string[]> {
    const key = `${projectId}/${jobId}`;
    const cached = this.cache.get(key);
    if (cached) return cached;
    for (const refusal of [this.refused.get(TOKEN_REFUSED), this.refused.get(key)]) {
      if (refusal !== undefined && refusal.at > lastRefusedAt) {
        throw new TagRefusedError(refusal.error.message, refusal.error.status);
      }
    }
    // Several events of one job often arrive together: one API call serves them all.
    let lookup = this.inFlight.get(key);
    if (lookup === undefined) {
      lookup = this.fetchTags(projectId, jobId).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, lookup);
    }
    return lookup;
  }

  private async fetchTags(projectId: number, jobId: string): Promise<string[]> {
    let job: Awaited<ReturnType<Gitlab<false>['Jobs']['show']>>;
    try {
      job = await this.api.Jobs.show(projectId, Number(jobId));
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      const status = error instanceof GitbeakerRequestError ? error.cause?.response.status : undefined;
      if (status !== undefined && REFUSED_STATUSES.has(status)) {
        // A cached 401 answers for other jobs too, so its message names none.
        const refusal = new TagRefusedError(
          status === 401
            ? `GitLab API answered 401 (GITLAB_TOKEN not accepted): ${reason}`
            : `GitLab API answered ${status} for job ${jobId} of project ${projectId}: ${reason}`,
          status,
        );
        this.refused.set(status === 401 ? TOKEN_REFUSED : `${projectId}/${jobId}`, {
          error: refusal,
          at: Date.now(),
        });
        throw refusal;
      }
      throw new TagLookupError(`GitLab API could not show job ${jobId} of project ${projectId}: ${reason}`);
    }
    const tags = normalizeLabels(job.tag_list ?? []);
    this.cache.set(`${projectId}/${jobId}`, tags);
    return tags;
  }
}
