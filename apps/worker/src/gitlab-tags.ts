import { Gitlab } from '@gitbeaker/rest';
import { normalizeLabels } from '@runner-planner/core';
import { LRUCache } from 'lru-cache';

/** A job's tags never change, so a resolved job stays cached until evicted by newer ones. */
const CACHED_JOBS = 50_000;

/** The GitLab API could not tell a job's tags: the event must wait and be retried, never guessed. */
export class TagLookupError extends Error {
  override readonly name = 'TagLookupError';
}

export interface JobTagSource {
  tags(projectId: number, jobId: string): Promise<string[]>;
}

/** Resolves GitLab job tags (`tag_list`) through the REST API, since the Job Hook omits them. */
export class GitLabTagResolver implements JobTagSource {
  private readonly api: Gitlab<false>;
  private readonly cache = new LRUCache<string, string[]>({ max: CACHED_JOBS });
  private readonly inFlight = new Map<string, Promise<string[]>>();

  constructor(options: { url: string; token: string }) {
    this.api = new Gitlab({ host: options.url, token: options.token });
  }

  async tags(projectId: number, jobId: string): Promise<string[]> {
    const key = `${projectId}/${jobId}`;
    const cached = this.cache.get(key);
    if (cached) return cached;
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
      throw new TagLookupError(`GitLab API could not show job ${jobId} of project ${projectId}: ${reason}`);
    }
    const tags = normalizeLabels(job.tag_list ?? []);
    this.cache.set(`${projectId}/${jobId}`, tags);
    return tags;
  }
}
