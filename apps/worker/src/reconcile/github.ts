import { createAppAuth } from '@octokit/auth-app';
import { Octokit } from '@octokit/core';
import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';
import type { GitHubAppCredentials, GitHubHook } from '@runner-planner/config';
import { errorText } from '@runner-planner/process';
import type { GitHubAppInstallations, GitHubPermission, GitHubTarget } from './github-installations.js';

const ReconcileOctokit = Octokit.plugin(throttling, retry);
export type GitHubClient = InstanceType<typeof ReconcileOctokit>;

/** Octokit's debug and info lines narrate each request: not worth a log line. */
const chatter = (): void => undefined;

/** A rate-limit wait the client is about to make: primary (403/429 with remaining 0) or secondary. */
export interface RateLimitWait {
  kind: 'primary' | 'secondary';
  seconds: number;
  method: string;
  url: string;
}

export type GitHubClientOptions = {
  baseUrl: string;
  /** Times one request is retried after a rate limit before it fails (default 4). */
  rateLimitRetries?: number;
  onRateLimit?: (wait: RateLimitWait) => void;
  /** Seconds in GitHub's rate-limit headers are multiplied by this many ms (tests: 1000, the default). */
  retryAfterBaseValue?: number;
  /**
   * Octokit's warnings: an endpoint's deprecation, a clock too far off for the App's JWT, a
   * failing rate-limit handler (default: a line on stderr).
   */
  warn?: (message: string) => void;
} & (
  | { token: string; app?: undefined; installations?: undefined }
  /**
   * Authenticates as the GitHub App itself (a JWT signed with its key): the `/app/hook`
   * endpoints, installation lookups, and minting installation tokens (`client.auth`).
   */
  | { app: GitHubAppCredentials; token?: undefined; installations?: undefined }
  /**
   * Each request to a repository or organisation with a token of the App installation that may
   * make it; `token` (a personal token) for the others, or a GitHubInstallationMissingError.
   */
  | { installations: GitHubAppInstallations; token?: string | undefined; app?: undefined }
);

/** No installation of the configured GitHub App may make a request, and there is no GITHUB_TOKEN. */
export class GitHubInstallationMissingError extends Error {
  override readonly name = 'GitHubInstallationMissingError';
}

/** The account and repository a REST path is about (`/repos/{owner}/{repo}/…`, `/orgs/{org}/…`). */
export function targetOfPath(path: string): GitHubTarget | undefined {
  const match = /^\/(?:repos\/([^/]+)\/([^/]+)|orgs\/([^/]+))(?:\/|$)/.exec(path);
  if (match === null) return undefined;
  const [, owner, repo, org] = match.map((part) =>
    part === undefined ? undefined : decodeURIComponent(part),
  );
  return org !== undefined ? { owner: org } : { owner: owner ?? '', repo };
}

/**
 * The installation permission a request needs, as GitHub's REST docs list it for each endpoint:
 * workflow jobs need Actions (read); repository and organisation webhook deliveries need
 * Webhooks (read to list, write to redeliver).
 */
export function permissionOfRequest(method: string, path: string): GitHubPermission | undefined {
  const level = method.toUpperCase() === 'GET' ? 'read' : 'write';
  if (/^\/repos\/[^/]+\/[^/]+\/actions\//.test(path)) return ['actions', level];
  if (/^\/repos\/[^/]+\/[^/]+\/hooks(\/|$)/.test(path)) return ['repository_hooks', level];
  if (/^\/orgs\/[^/]+\/hooks(\/|$)/.test(path)) return ['organization_hooks', level];
  return undefined;
}

type Request = GitHubClient['request'];

/**
 * An octokit auth strategy choosing the credential per request: the token of the App
 * installation that reaches the request's repository or organisation with the permission it
 * needs, else the personal token. A 401 on an installation token (expired early, revoked)
 * mints a new one and tries once more.
 */
function installationAuth(installations: GitHubAppInstallations, token: string | undefined, baseUrl: string) {
  const basePath = new URL(baseUrl).pathname.replace(/\/+$/, '');
  const hook = async (
    request: Request,
    options: Record<string, unknown> & { method: string; url: string },
  ) => {
    const endpoint = request.endpoint.merge(options);
    const { url, method } = request.endpoint.parse(endpoint);
    const fullPath = new URL(url).pathname;
    const path = fullPath.startsWith(basePath) ? fullPath.slice(basePath.length) : fullPath;
    const target = targetOfPath(path);
    const permission = permissionOfRequest(method, path);
    const send = (credential: string) => {
      endpoint.headers.authorization = `token ${credential}`;
      return request(endpoint);
    };
    if (target === undefined) return token === undefined ? request(endpoint) : send(token);
    const access = await installations.access(target, permission);
    if ('missing' in access) {
      if (token !== undefined) return send(token);
      throw new GitHubInstallationMissingError(`${access.missing}, and GITHUB_TOKEN is not set`);
    }
    try {
      return await send(access.token);
    } catch (error) {
      if (statusOf(error) !== 401) throw error;
      const fresh = await installations.access(target, permission, true);
      if ('missing' in fresh) throw error;
      return send(fresh.token);
    }
  };
  return Object.assign(async () => ({ type: 'github-app-installations' }), { hook });
}

/**
 * @octokit/core with the throttling plugin (queues requests, waits out primary and secondary
 * rate limits as GitHub's headers say) and the retry plugin (5xx and network errors).
 */
export function createGitHubClient(options: GitHubClientOptions): GitHubClient {
  const retries = options.rateLimitRetries ?? 4;
  const warn = options.warn ?? ((message: string) => process.stderr.write(`GitHub client: ${message}\n`));
  // Octokit passes an Error to warn at times (the throttling plugin's handler failures).
  const octokitWarning = (message: unknown, ...more: unknown[]) =>
    warn(
      [message, ...more].map((part) => (part instanceof Error ? errorText(part) : String(part))).join(' '),
    );
  const baseMs = options.retryAfterBaseValue ?? 1000;
  // The throttling plugin retries the limited request after the wait, but lets every other
  // request go on: a rate limit closes this gate until it is over, so none are sent meanwhile.
  let closedUntil = 0;
  const onLimit =
    (kind: RateLimitWait['kind']) =>
    (seconds: number, request: { method: string; url: string }, _octokit: unknown, retryCount: number) => {
      options.onRateLimit?.({ kind, seconds, method: request.method, url: request.url });
      closedUntil = Math.max(closedUntil, Date.now() + seconds * baseMs);
      return retryCount < retries;
    };
  const auth =
    options.installations !== undefined
      ? {
          authStrategy: () => installationAuth(options.installations, options.token, options.baseUrl),
        }
      : options.app === undefined
        ? { auth: options.token }
        : {
            authStrategy: createAppAuth,
            auth: { appId: options.app.appId, privateKey: options.app.privateKey },
          };
  const client = new ReconcileOctokit({
    ...auth,
    baseUrl: options.baseUrl,
    userAgent: 'runner-planner-reconcile',
    throttle: {
      onRateLimit: onLimit('primary'),
      onSecondaryRateLimit: onLimit('secondary'),
      ...(options.retryAfterBaseValue === undefined
        ? {}
        : { retryAfterBaseValue: options.retryAfterBaseValue }),
    },
    retry: { retries: 3 },
    log: { debug: chatter, info: chatter, warn: octokitWarning, error: octokitWarning },
  });
  client.hook.before('request', async () => {
    while (Date.now() < closedUntil) {
      await new Promise((resolve) => setTimeout(resolve, closedUntil - Date.now()));
    }
  });
  return client;
}

export function statusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null || !('status' in error)) return undefined;
  return typeof error.status === 'number' ? error.status : undefined;
}

export interface HookDelivery {
  id: number;
  guid: string;
  delivered_at: string;
  redelivery: boolean;
  status: string;
  status_code: number;
  event: string;
}

function hookPath(hook: GitHubHook): string {
  switch (hook.kind) {
    case 'repo':
      return `/repos/${encodeURIComponent(hook.owner)}/${encodeURIComponent(hook.repo)}/hooks/${hook.hookId}`;
    case 'org':
      return `/orgs/${encodeURIComponent(hook.org)}/hooks/${hook.hookId}`;
    case 'app':
      return '/app/hook';
  }
}

/** The hook as GITHUB_HOOKS spells it. */
export function describeHook(hook: GitHubHook): string {
  switch (hook.kind) {
    case 'repo':
      return `repo:${hook.owner}/${hook.repo}:${hook.hookId}`;
    case 'org':
      return `org:${hook.org}:${hook.hookId}`;
    case 'app':
      return 'app';
  }
}

const NEXT_CURSOR = /<([^>]+)>;\s*rel="next"/;

/** Deliveries of a hook delivered at or after `since`, newest first (GitHub lists them that way). */
export async function listDeliveriesSince(
  client: GitHubClient,
  hook: GitHubHook,
  since: Date,
): Promise<HookDelivery[]> {
  const found: HookDelivery[] = [];
  let cursor: string | undefined;
  for (;;) {
    const response = await client.request(`GET ${hookPath(hook)}/deliveries`, {
      per_page: 100,
      ...(cursor === undefined ? {} : { cursor }),
    });
    const page = response.data as HookDelivery[];
    let reachedOlder = false;
    for (const delivery of page) {
      if (new Date(delivery.delivered_at) < since) {
        reachedOlder = true;
        break;
      }
      found.push(delivery);
    }
    const next = NEXT_CURSOR.exec(String(response.headers.link ?? ''));
    const nextCursor = next?.[1] === undefined ? null : new URL(next[1]).searchParams.get('cursor');
    if (reachedOlder || nextCursor === null) return found;
    cursor = nextCursor;
  }
}

export async function redeliver(client: GitHubClient, hook: GitHubHook, deliveryId: number): Promise<void> {
  await client.request(`POST ${hookPath(hook)}/deliveries/${deliveryId}/attempts`);
}

/** A failed delivery: GitHub got an error status, or none at all (timeout, connection refused). */
export function deliveryFailed(delivery: HookDelivery): boolean {
  return delivery.status_code >= 400 || delivery.status_code === 0 || delivery.status !== 'OK';
}

/**
 * Failed `workflow_job` deliveries worth redelivering: not redeliveries themselves, and no other
 * delivery of the same event (same guid) succeeded or was already a redelivery.
 */
export function deliveriesToRedeliver(deliveries: readonly HookDelivery[]): HookDelivery[] {
  const settled = new Set<string>();
  for (const delivery of deliveries) {
    if (delivery.redelivery || !deliveryFailed(delivery)) settled.add(delivery.guid);
  }
  return deliveries.filter(
    (d) => d.event === 'workflow_job' && !d.redelivery && deliveryFailed(d) && !settled.has(d.guid),
  );
}

/** A workflow job as the REST job endpoint returns it (the fields reconciliation reads). */
export interface GitHubJobState {
  status: string;
  started_at: string | null;
  completed_at: string | null;
  /** Null until a runner takes the job; still null for a job that ended before one did. */
  runner_id?: number | null;
  runner_name?: string | null;
}

/** The job's state on GitHub, or undefined when GitHub answers 404. */
export async function showGitHubJob(
  client: GitHubClient,
  fullName: string,
  jobId: string,
): Promise<GitHubJobState | undefined> {
  const [owner, repo] = fullName.split('/');
  try {
    const response = await client.request('GET /repos/{owner}/{repo}/actions/jobs/{job_id}', {
      owner: owner ?? '',
      repo: repo ?? '',
      job_id: Number(jobId),
    });
    return response.data as GitHubJobState;
  } catch (error) {
    if (statusOf(error) === 404) return undefined;
    throw error;
  }
}
