import { type KeyObject, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { jwtVerify } from 'jose';
import { closeHttpServer, listenOnLoopback } from './loopback-http.js';

/** A hook delivery as GitHub lists it (`GET …/hooks/{id}/deliveries`). */
export interface FakeGitHubDelivery {
  id: number;
  guid: string;
  delivered_at: string;
  redelivery: boolean;
  duration: number;
  status: string;
  status_code: number;
  event: string;
  action: string | null;
  installation_id: number | null;
  repository_id: number | null;
}

/** A workflow job as `GET /repos/{owner}/{repo}/actions/jobs/{id}` answers it. */
export interface FakeGitHubJob {
  id: number;
  status: 'queued' | 'in_progress' | 'completed' | 'waiting' | 'requested' | 'pending';
  conclusion?: string | null;
  created_at?: string;
  started_at?: string | null;
  completed_at?: string | null;
  labels?: string[];
  runner_id?: number | null;
  runner_name?: string | null;
}

/**
 * The credential a request carried: the personal `token`, the App's JWT, an installation access
 * token (`installation:ID`), or none the fake recognised.
 */
export type FakeGitHubAuth = 'token' | 'app' | `installation:${number}` | 'none';

/** One request the fake answered, with when it arrived, who sent it and what it answered. */
export interface FakeGitHubRequest {
  method: string;
  path: string;
  at: number;
  status: number;
  auth: FakeGitHubAuth;
}

/** `repos/OWNER/REPO` or `orgs/ORG`: where a hook lives. */
export type FakeHookOwner = string;

/** A permission level of a GitHub App installation; `write` includes `read`. */
export type FakeGitHubPermission = 'read' | 'write';

/** Where a GitHub App is installed: one organisation or user account. */
export interface FakeGitHubInstallation {
  id: number;
  /** The login of the organisation or user the App is installed on. */
  account: string;
  accountType?: 'Organization' | 'User';
  /** Names (without the owner) of the repositories it was granted; absent = all of the account's. */
  repositories?: string[];
  /**
   * What the App may do there (default `actions: read`, `repository_hooks: write`,
   * `organization_hooks: write`, `metadata: read`).
   */
  permissions?: Record<string, FakeGitHubPermission>;
}

/**
 * A GitHub App: its own webhook (`/app/hook`) and the installation endpoints answer only to its
 * JWT; each installation's access tokens reach that account's repositories and hooks.
 */
export interface FakeGitHubApp {
  id: number;
  /** The public half of the key pair the JWTs must be signed with (RS256). */
  publicKey: KeyObject;
  installations?: FakeGitHubInstallation[];
  /** Lifetime of the installation access tokens it issues (GitHub: one hour). */
  tokenLifetimeSeconds?: number;
}

/** An installation access token the fake issued. */
export interface FakeGitHubInstallationToken {
  installationId: number;
  token: string;
  expiresAt: string;
}

/**
 * A stand-in for the GitHub REST endpoints reconciliation calls (hook deliveries, redelivery,
 * workflow jobs), served on 127.0.0.1 so the real @octokit client is exercised end to end, rate
 * limits included: every answer carries `x-ratelimit-*` headers, and `rateLimitNext` makes the
 * next answers the documented primary (403, remaining 0, reset) or secondary (429, retry-after)
 * rate-limit responses.
 */
export interface FakeGitHub {
  url: string;
  token: string;
  /** Adds a delivery to a hook (`repos/o/r` or `orgs/o`, hook id); ids are assigned when absent. */
  addDelivery(
    owner: FakeHookOwner,
    hookId: number,
    delivery: Partial<FakeGitHubDelivery>,
  ): FakeGitHubDelivery;
  deliveries(owner: FakeHookOwner, hookId: number): FakeGitHubDelivery[];
  /** Adds a delivery to the App's webhook (needs the `app` option). */
  addAppDelivery(delivery: Partial<FakeGitHubDelivery>): FakeGitHubDelivery;
  appDeliveries(): FakeGitHubDelivery[];
  /** Requests needing the App's JWT refused because it was missing, badly signed or expired. */
  readonly rejectedAppTokens: number;
  /** Installation access tokens issued so far, oldest first. */
  readonly installationTokens: FakeGitHubInstallationToken[];
  /** Ends every installation token issued so far, as an hour passing would: they answer 401 from now on. */
  expireInstallationTokens(): void;
  /** Delivery ids a redelivery was requested for, in order. */
  readonly redeliveries: number[];
  setJob(fullName: string, job: FakeGitHubJob): void;
  /**
   * Every request in the next `seconds` answers a rate limit, as GitHub does until the limit is
   * over: `primary` → 403 with `x-ratelimit-remaining: 0` and `x-ratelimit-reset` at the end;
   * `secondary` → 429 with `retry-after` the seconds left.
   */
  rateLimitFor(kind: 'primary' | 'secondary', seconds: number): void;
  /** Answers every request after this many milliseconds (0 to answer at once). */
  setDelay(ms: number): void;
  /**
   * Whether redeliveries requested through the API show up in the deliveries list (default
   * true). False imitates GitHub listing them late: the original still looks undelivered.
   */
  listRedeliveries(listed: boolean): void;
  readonly requests: FakeGitHubRequest[];
  close(): Promise<void>;
}

const RATE_LIMIT = 5_000;
const PAGE_LIMIT = 100;

async function drain(request: IncomingMessage): Promise<void> {
  for await (const _chunk of request) {
    // The endpoints served take no body that matters.
  }
}

const APP_HOOK = 'app/hook';
/**
 * GitHub refuses an App JWT whose `exp` is more than 10 minutes ahead ("Generating a JSON Web
 * Token (JWT) for a GitHub App", docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app/generating-a-json-web-token-jwt-for-a-github-app);
 * one second covers rounding to whole seconds.
 */
const MAX_JWT_AHEAD_S = 10 * 60 + 1;
/** Clock drift allowed on an expired `exp` or a future `iat` (GitHub recommends backdating `iat` by 60 s). */
const CLOCK_DRIFT_S = 60;
/**
 * "Installation tokens expire one hour from the time you create them. Using an expired token
 * produces a status code of 401" (docs.github.com/en/rest/apps/apps#create-an-installation-access-token-for-an-app).
 */
const INSTALLATION_TOKEN_LIFETIME_S = 3_600;
const DEFAULT_PERMISSIONS: Record<string, FakeGitHubPermission> = {
  actions: 'read',
  metadata: 'read',
  organization_hooks: 'write',
  repository_hooks: 'write',
};

/**
 * Whether `authorization` is `Bearer <JWT>` signed (RS256) with the App's key, issued by the App
 * (`iss` = its id), not expired, not issued in the future and expiring at most 10 minutes ahead,
 * as GitHub checks them.
 */
async function validAppJwt(authorization: string | undefined, app: FakeGitHubApp): Promise<boolean> {
  const token = /^bearer (.+)$/i.exec(authorization ?? '')?.[1];
  if (token === undefined) return false;
  try {
    const { payload } = await jwtVerify(token, app.publicKey, {
      algorithms: ['RS256'],
      requiredClaims: ['iss', 'iat', 'exp'],
      clockTolerance: CLOCK_DRIFT_S,
    });
    const now = Date.now() / 1000;
    // GitHub takes the App id as a number or a string in `iss` (jose's issuer option wants a string).
    return (
      String(payload.iss) === String(app.id) &&
      (payload.exp ?? 0) <= now + MAX_JWT_AHEAD_S &&
      (payload.iat ?? 0) <= now + CLOCK_DRIFT_S
    );
  } catch {
    return false;
  }
}

/**
 * The endpoints that find an App's installation; GitHub serves them only to the App's JWT
 * ("You must use a JWT to access this endpoint", docs.github.com/en/rest/apps/apps).
 */
const INSTALLATION_LOOKUP = /^\/(?:repos\/([^/]+)\/([^/]+)|orgs\/([^/]+)|users\/([^/]+))\/installation$/;

/**
 * The permission an installation token needs for a path, as the REST docs list them under
 * "Fine-grained access tokens" for each endpoint: workflow jobs need Actions (read), repository
 * and organisation webhook deliveries need Webhooks (read to list, write to redeliver).
 */
function permissionNeeded(method: string, path: string): [string, FakeGitHubPermission] | undefined {
  const level: FakeGitHubPermission = method === 'GET' ? 'read' : 'write';
  if (/^\/repos\/[^/]+\/[^/]+\/actions\//.test(path)) return ['actions', level];
  if (/^\/repos\/[^/]+\/[^/]+\/hooks(\/|$)/.test(path)) return ['repository_hooks', level];
  if (/^\/orgs\/[^/]+\/hooks(\/|$)/.test(path)) return ['organization_hooks', level];
  return undefined;
}

const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

export async function startFakeGitHub(
  token = 'ghp_test-token',
  options: { app?: FakeGitHubApp } = {},
): Promise<FakeGitHub> {
  const hooks = new Map<string, FakeGitHubDelivery[]>();
  const jobs = new Map<string, FakeGitHubJob>();
  const requests: FakeGitHubRequest[] = [];
  const redeliveries: number[] = [];
  let nextDeliveryId = 1_000_000;
  let limited: { kind: 'primary' | 'secondary'; until: number } | undefined;
  const postedRedeliveries = new Set<number>();
  let delayMs = 0;
  let remaining = RATE_LIMIT;
  let redeliveriesListed = true;
  let rejectedAppTokens = 0;
  const app = options.app;
  const installations = app?.installations ?? [];
  const issued: FakeGitHubInstallationToken[] = [];
  const tokenOwners = new Map<string, { installation: FakeGitHubInstallation; expiresAt: number }>();

  /** Whether an installation may reach `owner/repo` (`repo` absent: the account itself). */
  const reaches = (installation: FakeGitHubInstallation, owner: string, repo?: string) =>
    same(installation.account, owner) &&
    (repo === undefined ||
      installation.repositories === undefined ||
      installation.repositories.some((name) => same(name, repo)));
  const installationJson = (installation: FakeGitHubInstallation) => ({
    id: installation.id,
    app_id: app?.id,
    account: { login: installation.account, type: installation.accountType ?? 'Organization' },
    target_type: installation.accountType ?? 'Organization',
    repository_selection: installation.repositories === undefined ? 'all' : 'selected',
    permissions: installation.permissions ?? DEFAULT_PERMISSIONS,
    access_tokens_url: `/app/installations/${installation.id}/access_tokens`,
    events: ['workflow_job'],
    suspended_at: null,
  });

  const hookKey = (owner: string, hookId: number | string) =>
    owner === 'app' ? APP_HOOK : `${owner}/hooks/${hookId}`;
  const deliveriesOf = (key: string) => {
    let list = hooks.get(key);
    if (list === undefined) {
      list = [];
      hooks.set(key, list);
    }
    return list;
  };
  const addDelivery = (owner: string, hookId: number, delivery: Partial<FakeGitHubDelivery>) => {
    const full: FakeGitHubDelivery = {
      id: nextDeliveryId++,
      guid: crypto.randomUUID(),
      delivered_at: new Date().toISOString(),
      redelivery: false,
      duration: 0.1,
      status: 'OK',
      status_code: 200,
      event: 'workflow_job',
      action: 'completed',
      installation_id: null,
      repository_id: 1,
      ...delivery,
    };
    deliveriesOf(hookKey(owner, hookId)).push(full);
    return full;
  };

  const server: Server = createServer(async (request, response) => {
    await drain(request);
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    const url = new URL(request.url ?? '/', 'http://fake');
    const method = request.method ?? 'GET';
    const reset = Math.ceil(Date.now() / 1000) + 3600;
    let auth: FakeGitHubAuth = 'none';
    const reply = (
      status: number,
      body: unknown,
      headers: Record<string, string> = {},
      as: FakeGitHubAuth = auth,
    ) => {
      requests.push({ method, path: url.pathname, at: Date.now(), status, auth: as });
      response.writeHead(status, {
        'content-type': 'application/json; charset=utf-8',
        'x-ratelimit-limit': String(RATE_LIMIT),
        'x-ratelimit-remaining': String(remaining),
        'x-ratelimit-reset': String(reset),
        'x-ratelimit-used': String(RATE_LIMIT - remaining),
        'x-ratelimit-resource': 'core',
        ...headers,
      });
      response.end(body === undefined ? '' : JSON.stringify(body));
    };
    const path = url.pathname;
    // `/app/…` and the installation lookups answer only to the App's JWT ("You must use a JWT to
    // access this endpoint", REST docs for each); every other endpoint to the personal token or
    // to an installation token that reaches the account, repository and permission it names.
    const lookup = INSTALLATION_LOOKUP.exec(path);
    if (path.startsWith('/app/') || lookup !== null) {
      if (app === undefined || !(await validAppJwt(request.headers.authorization, app))) {
        rejectedAppTokens += 1;
        return reply(401, { message: 'A JSON web token could not be decoded', status: '401' }, {}, 'none');
      }
      auth = 'app';
    } else {
      const presented = /^(?:token|bearer) (.+)$/i.exec(request.headers.authorization ?? '')?.[1];
      const installed = presented === undefined ? undefined : tokenOwners.get(presented);
      if (presented === token) {
        auth = 'token';
      } else if (installed !== undefined && Date.now() < installed.expiresAt) {
        auth = `installation:${installed.installation.id}`;
        const target = /^\/(?:repos\/([^/]+)\/([^/]+)|orgs\/([^/]+))(?:\/|$)/.exec(path);
        const owner = target?.[1] ?? target?.[3];
        // GitHub answers 404, not 403, for what a token cannot see.
        if (owner === undefined || !reaches(installed.installation, owner, target?.[2])) {
          return reply(404, { message: 'Not Found', status: '404' });
        }
        const needed = permissionNeeded(method, path);
        const granted = (installed.installation.permissions ?? DEFAULT_PERMISSIONS)[needed?.[0] ?? ''];
        if (needed !== undefined && granted !== 'write' && granted !== needed[1]) {
          return reply(403, { message: 'Resource not accessible by integration', status: '403' });
        }
      } else {
        // An expired installation token gets the same answer as a wrong one.
        return reply(401, { message: 'Bad credentials', status: '401' });
      }
    }
    if (limited !== undefined && Date.now() < limited.until) {
      const { kind, until } = limited;
      const seconds = Math.max(1, Math.ceil((until - Date.now()) / 1000));
      if (kind === 'primary') {
        return reply(
          403,
          { message: 'API rate limit exceeded for user ID 1.', status: '403' },
          {
            'x-ratelimit-remaining': '0',
            'x-ratelimit-reset': String(Math.ceil(until / 1000)),
          },
        );
      }
      return reply(
        429,
        {
          message:
            'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.',
        },
        { 'retry-after': String(seconds) },
      );
    }
    remaining = Math.max(1, remaining - 1);

    if (lookup !== null && method === 'GET') {
      const [, repoOwner, repo, org, user] = lookup;
      // "Get a repository installation" answers only when the repository is one the installation
      // was granted; "Get an organization installation" only for organisation accounts.
      const found = installations.find((installation) =>
        repoOwner !== undefined
          ? reaches(installation, repoOwner, repo)
          : org !== undefined
            ? reaches(installation, org) && (installation.accountType ?? 'Organization') === 'Organization'
            : reaches(installation, user ?? ''),
      );
      if (found === undefined) return reply(404, { message: 'Not Found', status: '404' });
      return reply(200, installationJson(found));
    }
    const mint = /^\/app\/installations\/(\d+)\/access_tokens$/.exec(path);
    if (mint && method === 'POST') {
      const installation = installations.find((i) => i.id === Number(mint[1]));
      if (installation === undefined) return reply(404, { message: 'Not Found', status: '404' });
      const lifetime = (app?.tokenLifetimeSeconds ?? INSTALLATION_TOKEN_LIFETIME_S) * 1000;
      // GitHub's timestamps have whole seconds.
      const expiresAt = Math.floor((Date.now() + lifetime) / 1000) * 1000;
      const minted = `ghs_${randomBytes(18).toString('base64url')}`;
      tokenOwners.set(minted, { installation, expiresAt });
      const expiresAtText = new Date(expiresAt).toISOString().replace('.000Z', 'Z');
      issued.push({ installationId: installation.id, token: minted, expiresAt: expiresAtText });
      return reply(201, {
        token: minted,
        expires_at: expiresAtText,
        permissions: installation.permissions ?? DEFAULT_PERMISSIONS,
        repository_selection: installation.repositories === undefined ? 'all' : 'selected',
      });
    }
    const list =
      /^\/((?:repos\/[^/]+\/[^/]+)|(?:orgs\/[^/]+))\/hooks\/(\d+)\/deliveries$/.exec(path) ??
      /^\/(app)\/hook()\/deliveries$/.exec(path);
    if (list && method === 'GET') {
      const key = hookKey(list[1] ?? '', list[2] ?? '');
      // An App always has its one webhook; other hooks exist once a delivery was added.
      const all = hooks.get(key) ?? (key === APP_HOOK ? [] : undefined);
      if (all === undefined) return reply(404, { message: 'Not Found', status: '404' });
      const perPage = Math.min(Number(url.searchParams.get('per_page') ?? 30) || 30, PAGE_LIMIT);
      // Newest first; the cursor is the position the next page starts at.
      const sorted = all
        .filter((d) => redeliveriesListed || !postedRedeliveries.has(d.id))
        .sort((a, b) => b.delivered_at.localeCompare(a.delivered_at) || b.id - a.id);
      const offset = Number(url.searchParams.get('cursor') ?? 0) || 0;
      const page = sorted.slice(offset, offset + perPage);
      const headers: Record<string, string> = {};
      if (sorted.length > offset + perPage) {
        const next = new URL(url.pathname, `http://${request.headers.host}`);
        next.searchParams.set('per_page', String(perPage));
        next.searchParams.set('cursor', String(offset + perPage));
        headers.link = `<${next.toString()}>; rel="next"`;
      }
      return reply(200, page, headers);
    }
    const attempt =
      /^\/((?:repos\/[^/]+\/[^/]+)|(?:orgs\/[^/]+))\/hooks\/(\d+)\/deliveries\/(\d+)\/attempts$/.exec(path) ??
      /^\/(app)\/hook()\/deliveries\/(\d+)\/attempts$/.exec(path);
    if (attempt && method === 'POST') {
      const owner = attempt[1] ?? '';
      const hookId = Number(attempt[2]);
      const original = hooks.get(hookKey(owner, hookId))?.find((d) => d.id === Number(attempt[3]));
      if (original === undefined) return reply(404, { message: 'Not Found', status: '404' });
      redeliveries.push(original.id);
      const copy = addDelivery(owner, hookId, {
        ...original,
        id: nextDeliveryId++,
        redelivery: true,
        status: 'OK',
        status_code: 200,
        delivered_at: new Date().toISOString(),
      });
      postedRedeliveries.add(copy.id);
      return reply(202, {});
    }
    const job = /^\/repos\/([^/]+\/[^/]+)\/actions\/jobs\/(\d+)$/.exec(path);
    if (job && method === 'GET') {
      const found = jobs.get(`${job[1]}#${job[2]}`);
      if (found === undefined) return reply(404, { message: 'Not Found', status: '404' });
      return reply(200, {
        run_id: 1,
        name: 'build',
        conclusion: null,
        created_at: new Date().toISOString(),
        started_at: null,
        completed_at: null,
        labels: [],
        ...found,
      });
    }
    return reply(404, { message: 'Not Found', status: '404' });
  });
  const url = await listenOnLoopback(server);

  return {
    url,
    token,
    requests,
    redeliveries,
    addDelivery,
    deliveries: (owner, hookId) => [...(hooks.get(hookKey(owner, hookId)) ?? [])],
    addAppDelivery: (delivery) => addDelivery('app', 0, delivery),
    appDeliveries: () => [...(hooks.get(APP_HOOK) ?? [])],
    get rejectedAppTokens() {
      return rejectedAppTokens;
    },
    installationTokens: issued,
    expireInstallationTokens() {
      for (const owner of tokenOwners.values()) owner.expiresAt = Date.now() - 1;
    },
    setJob(fullName, job) {
      jobs.set(`${fullName}#${job.id}`, job);
    },
    rateLimitFor(kind, seconds) {
      limited = { kind, until: Date.now() + seconds * 1000 };
    },
    setDelay(ms) {
      delayMs = ms;
    },
    listRedeliveries(listed) {
      redeliveriesListed = listed;
    },
    close: () => closeHttpServer(server),
  };
}
