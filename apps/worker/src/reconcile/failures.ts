import { errorText, type Log } from '@runner-planner/process';
import { GitHubInstallationMissingError } from './github.js';

/**
 * Where reconciliation tells its problems: a message that reads on its own (the CLI prints it as
 * one line) and the same facts as fields for a structured log.
 */
export type Warn = (message: string, details?: Record<string, unknown>) => void;

/** The default outside the worker (the CLI, tests): one line on stderr. */
export const warnOnStderr: Warn = (message) => {
  process.stderr.write(`reconcile: ${message}\n`);
};

/** A Log that tells everything through `warn`, for what logs through a Log where only a Warn is given. */
export function warnLog(warn: Warn): Log {
  const tell = (details: object, message: string) => warn(message, { ...details });
  return { info: tell, warn: tell, error: tell };
}

/** What a forge answered: its HTTP status and message; without an answer, what went wrong. */
export interface ForgeAnswer {
  status: number | undefined;
  message: string;
}

/**
 * Octokit's RequestError carries `status` and GitHub's JSON body in `response.data`; gitbeaker's
 * error carries the Response and GitLab's message in `cause`. Anything else (a refused
 * connection, a timeout, a database error) is told by its text.
 */
export function forgeAnswer(error: unknown): ForgeAnswer {
  const failure = error as {
    status?: unknown;
    response?: { data?: { message?: unknown } };
    cause?: { response?: unknown; description?: unknown };
  } | null;
  if (typeof failure?.status === 'number') {
    const message = failure.response?.data?.message;
    return { status: failure.status, message: typeof message === 'string' ? message : errorText(error) };
  }
  const response = failure?.cause?.response;
  if (response instanceof Response) {
    const description = failure?.cause?.description;
    return {
      status: response.status,
      message: typeof description === 'string' && description !== '' ? description : errorText(error),
    };
  }
  return { status: undefined, message: errorText(error) };
}

interface Cause extends ForgeAnswer {
  what: string;
  count: number;
  first: string;
}

/**
 * The failures of one reconcile pass, one entry per distinct cause: a bad GITHUB_TOKEN fails
 * every lookup of the pass with the same 401, and is told once with how many it failed.
 */
export class PassFailures {
  private readonly causes = new Map<string, Cause>();

  /** `what` failed (e.g. "GitHub job lookups") for `subject` (e.g. "job 42 of octo/repo"). */
  add(what: string, error: unknown, subject: string): void {
    // Told already, once per owner until it is looked up again (GitHubAppInstallations' onMiss).
    if (error instanceof GitHubInstallationMissingError) return;
    const answer = forgeAnswer(error);
    const key = `${what}\n${answer.status}\n${answer.message}`;
    const known = this.causes.get(key);
    if (known !== undefined) known.count += 1;
    else this.causes.set(key, { what, ...answer, count: 1, first: subject });
  }

  /** Tells each distinct cause once, then forgets them. */
  tell(warn: Warn): void {
    for (const cause of this.causes.values()) {
      // GitLab's messages start with the status already ("401 Unauthorized").
      const answer =
        cause.status === undefined || cause.message.startsWith(String(cause.status))
          ? cause.message
          : `${cause.status} ${cause.message}`;
      warn(`${cause.what} failed (${cause.count}): ${answer}; first: ${cause.first}`, {
        failed: cause.what,
        count: cause.count,
        status: cause.status,
        error: cause.message,
        first: cause.first,
      });
    }
    this.causes.clear();
  }
}
