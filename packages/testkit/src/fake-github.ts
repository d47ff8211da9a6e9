import type { KeyObject } from 'node:crypto';
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

/** One request the fake answered, with when it arrived and what it answered. */
export interface FakeGitHubRequest {
  method: string;
  path: string;
  at: number;
  status: number;
}

/** `repos/OWNER/REPO` or `orgs/ORG`: where a hook lives. */
export type FakeHookOwner = string;

/** A GitHub App whose own webhook (`/app/hook`) the fake serves to requests carrying the App's JWT. */
export interface FakeGitHubApp {
  id: number;
  /** The public half of the key pair the JWTs must be signed with (RS256). */
  publicKey: KeyObject;
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
  /** Requests to `/app/hook` refused because their JWT was missing, badly signed or expired. */
  readonly rejectedAppTokens: number;
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
/** GitHub refuses App JWTs that live longer than 10 minutes; a minute of clock drift allowed. */
const MAX_JWT_LIFETIME_S = 11 * 60;

/**
 * Whether `authorization` is `Bearer <JWT>` signed (RS256) with the App's key, issued by the App
 * (`iss` = its id) and neither expired nor too long-lived, as GitHub checks them.
 */
async function validAppJwt(authorization: string | undefined, app: FakeGitHubApp): Promise<boolean> {
  const token = /^bearer (.+)$/i.exec(authorization ?? '')?.[1];
  if (token === undefined) return false;
  try {
    const { payload } = await jwtVerify(token, app.publicKey, {
      algorithms: ['RS256'],
      requiredClaims: ['iss', 'iat', 'exp'],
      clockTolerance: 60,
    });
    // GitHub takes the App id as a number or a string in `iss` (jose's issuer option wants a string).
    const lifetime = (payload.exp ?? 0) - (payload.iat ?? 0);
    return String(payload.iss) === String(app.id) && lifetime <= MAX_JWT_LIFETIME_S;
  } catch {
    return false;
  }
}

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
    const reply = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      requests.push({ method, path: url.pathname, at: Date.now(), status });
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
    // The App's hook answers only to the App's JWT; every other endpoint only to the token.
    if (url.pathname.startsWith('/app/')) {
      if (options.app === undefined || !(await validAppJwt(request.headers.authorization, options.app))) {
        rejectedAppTokens += 1;
        return reply(401, { message: 'A JSON web token could not be decoded', status: '401' });
      }
    } else if (
      request.headers.authorization !== `token ${token}` &&
      request.headers.authorization !== `Bearer ${token}`
    ) {
      return reply(401, { message: 'Bad credentials', status: '401' });
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

    const path = url.pathname;
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
