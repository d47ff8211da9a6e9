import { Gitlab } from '@gitbeaker/rest';

/** A GitLab job as `Jobs.show` returns it (the fields reconciliation reads). */
export interface GitLabJobState {
  status: string;
  started_at: string | null;
  finished_at: string | null;
}

export interface GitLabJobSource {
  /** The job's state on GitLab, or undefined when GitLab answers 404. */
  show(projectId: number, jobId: string): Promise<GitLabJobState | undefined>;
}

function statusOf(error: unknown): number | undefined {
  if (!(error instanceof Error) || typeof error.cause !== 'object' || error.cause === null) return undefined;
  const response = (error.cause as { response?: unknown }).response;
  return response instanceof Response ? response.status : undefined;
}

/** `Jobs.show` through @gitbeaker/rest, which retries 429 and 502 answers with backoff. */
export class GitLabJobLookup implements GitLabJobSource {
  private readonly api: Gitlab<false>;

  constructor(options: { url: string; token: string }) {
    this.api = new Gitlab({ host: options.url, token: options.token });
  }

  async show(projectId: number, jobId: string): Promise<GitLabJobState | undefined> {
    try {
      const job = await this.api.Jobs.show(projectId, Number(jobId));
      return {
        status: String(job.status),
        started_at: (job.started_at as string | null | undefined) ?? null,
        finished_at: (job.finished_at as string | null | undefined) ?? null,
      };
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
  }
}
