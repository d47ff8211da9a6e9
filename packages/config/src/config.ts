import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import bytes from 'bytes';
import ms from 'ms';
import { z } from 'zod';
import { clusterTarget, sentinelTarget } from './redis-url.js';

/** One or more bad environment variables; the message has a line per variable, never a secret's value. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
  }
}

export const ADMIN_TOKEN_PATTERN = /^planner_v0_[A-Za-z0-9_-]{20}$/;
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const LOG_FORMATS = ['json', 'pretty'] as const;

const port = (fallback: number) =>
  z.coerce
    .number({ error: 'must be a port number' })
    .int({ error: 'must be an integer port number' })
    .min(1, { error: 'must be between 1 and 65535' })
    .max(65535, { error: 'must be between 1 and 65535' })
    .default(fallback);

const positiveInt = (fallback: number) =>
  z.coerce
    .number({ error: 'must be a number' })
    .int({ error: 'must be a whole number' })
    .positive({ error: 'must be greater than 0' })
    .default(fallback);

/** A per-minute limit; 0 turns it off. */
const perMinuteLimit = (fallback: number) =>
  z.coerce
    .number({ error: 'must be a number of requests per minute (0 = no limit)' })
    .int({ error: 'must be a whole number of requests per minute (0 = no limit)' })
    .min(0, { error: 'must be 0 (no limit) or more' })
    .default(fallback);

const list = z
  .string()
  .transform((value) =>
    value
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== ''),
  )
  .default([]);

const boolean = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'must be true or false' })
    .transform((value) => ['true', '1', 'yes'].includes(value))
    .prefault(fallback ? 'true' : 'false');

const duration = (fallback: string) =>
  z
    .string()
    .transform((value, context) => {
      const parsed = /^\d+$/.test(value)
        ? Number(value) * 1000
        : (ms(value as ms.StringValue) as number | undefined);
      if (parsed === undefined || !Number.isFinite(parsed) || parsed <= 0) {
        context.addIssue({ code: 'custom', message: 'must be a duration such as 5d, 12h or 3600 (seconds)' });
        return z.NEVER;
      }
      return parsed;
    })
    .prefault(fallback);

/** A duration as above, or 0 to turn the check off. */
const durationOrOff = (fallback: string) =>
  z
    .string()
    .transform((value, context) => {
      if (/^0+$/.test(value)) return 0;
      const parsed = /^\d+$/.test(value)
        ? Number(value) * 1000
        : (ms(value as ms.StringValue) as number | undefined);
      if (parsed === undefined || !Number.isFinite(parsed) || parsed <= 0) {
        context.addIssue({
          code: 'custom',
          message: 'must be a duration such as 1h, 30m or 3600 (seconds), or 0 (off)',
        });
        return z.NEVER;
      }
      return parsed;
    })
    .prefault(fallback);

const size = (fallback: string) =>
  z
    .string()
    .transform((value, context) => {
      const parsed = bytes.parse(value);
      if (parsed === null || !Number.isFinite(parsed) || parsed <= 0) {
        context.addIssue({ code: 'custom', message: 'must be a size such as 1mb, 512kb or 1048576' });
        return z.NEVER;
      }
      return parsed;
    })
    .prefault(fallback);

/**
 * `repo:OWNER/REPO:HOOK_ID`, `org:ORG:HOOK_ID` or `app` (the GitHub App's own webhook, reached
 * with the App's JWT), as in GITHUB_HOOKS.
 */
export type GitHubHook =
  | { kind: 'repo'; owner: string; repo: string; hookId: number }
  | { kind: 'org'; org: string; hookId: number }
  | { kind: 'app' };

/** A GitHub App's credentials: its id and the PEM private key GitHub generated for it. */
export interface GitHubAppCredentials {
  appId: number;
  privateKey: string;
}

const GITHUB_NAME = /^[A-Za-z0-9_.-]+$/;

function parseGitHubHook(item: string): GitHubHook | undefined {
  if (item === 'app') return { kind: 'app' };
  const [kind, target, id, ...rest] = item.split(':');
  if (rest.length > 0 || target === undefined || id === undefined || !/^\d+$/.test(id)) return undefined;
  const hookId = Number(id);
  if (!Number.isSafeInteger(hookId) || hookId <= 0) return undefined;
  if (kind === 'org') return GITHUB_NAME.test(target) ? { kind, org: target, hookId } : undefined;
  if (kind !== 'repo') return undefined;
  const [owner, repo, ...more] = target.split('/');
  if (more.length > 0 || owner === undefined || repo === undefined) return undefined;
  return GITHUB_NAME.test(owner) && GITHUB_NAME.test(repo) ? { kind, owner, repo, hookId } : undefined;
}

const githubHooks = list.transform((items, context) => {
  const hooks: GitHubHook[] = [];
  for (const item of items) {
    const hook = parseGitHubHook(item);
    if (hook === undefined) {
      context.addIssue({
        code: 'custom',
        message: `${JSON.stringify(item)} must be repo:OWNER/REPO:HOOK_ID, org:ORG:HOOK_ID or app`,
      });
      return z.NEVER;
    }
    hooks.push(hook);
  }
  return hooks;
});

/**
 * Shared webhook secrets: anyone who guesses one can inject jobs, and an attacker may try as
 * often as the failed-auth limit allows, so a short one is refused rather than used.
 */
export const MIN_SECRET_LENGTH = 16;

const secretList = list.refine((items) => items.every((item) => item.length >= MIN_SECRET_LENGTH), {
  // Never echo the value: it is a secret.
  message: `each secret must be at least ${MIN_SECRET_LENGTH} characters (generate one with: openssl rand -hex 32)`,
});

const LOOPBACK_HOSTS = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])$/;

/** Whether a forge API URL sends its token in clear text to another machine. */
function isRemoteHttp(value: string): boolean {
  if (!URL.canParse(value)) return false; // refused as not a URL already
  const parsed = new URL(value);
  return parsed.protocol === 'http:' && !LOOPBACK_HOSTS.test(parsed.hostname);
}

const url = (protocols: RegExp, hint: string) =>
  z.string().refine(
    (value) => {
      try {
        return protocols.test(new URL(value).protocol);
      } catch {
        return false;
      }
    },
    { message: `must be a URL (${hint})` },
  );

/** `redis://`, `rediss://`, Sentinel's `redis+sentinel://` or a Cluster's `redis+cluster://` (docs/scaling.md#redis). */
const redisUrl = z.string().superRefine((value, context) => {
  try {
    if (sentinelTarget(value) !== undefined || clusterTarget(value) !== undefined) return;
  } catch (error) {
    context.addIssue({ code: 'custom', message: (error as Error).message });
    return;
  }
  try {
    if (/^rediss?:$/.test(new URL(value).protocol)) return;
  } catch {
    // Told below.
  }
  context.addIssue({
    code: 'custom',
    message:
      'must be a URL (redis://host:6379, rediss:// for TLS, redis+sentinel://host:26379,…/<master>, or redis+cluster://host:6379,…)',
  });
});

/** A PEM private key; one-line values with literal `\n` (as .env files often hold them) are unfolded. */
const privateKeyPem = z.string().transform((value, context) => {
  const pem = value.includes('-----BEGIN') && !value.includes('\n') ? value.replace(/\\n/g, '\n') : value;
  try {
    createPrivateKey(pem);
  } catch {
    // Never echo the value: it is a secret.
    context.addIssue({
      code: 'custom',
      message: 'must be a PEM private key (-----BEGIN RSA PRIVATE KEY-----…)',
    });
    return z.NEVER;
  }
  return pem;
});

/**
 * `OWNER:INSTALLATION_ID,…` (GITHUB_APP_INSTALLATION_IDS): the GitHub App installation each owner's
 * repositories and organisation hooks are reached with, instead of looking it up. Owners are
 * lowercased: GitHub logins are case-insensitive.
 */
const githubAppInstallationIds = list.transform((items, context) => {
  const pinned = new Map<string, number>();
  for (const item of items) {
    const [owner, id, ...rest] = item.split(':');
    const installationId = Number(id);
    if (
      rest.length > 0 ||
      owner === undefined ||
      !GITHUB_NAME.test(owner) ||
      id === undefined ||
      !/^\d+$/.test(id) ||
      !Number.isSafeInteger(installationId) ||
      installationId <= 0
    ) {
      context.addIssue({
        code: 'custom',
        message: `${JSON.stringify(item)} must be OWNER:INSTALLATION_ID (the number in the installation's settings URL)`,
      });
      return z.NEVER;
    }
    if (pinned.has(owner.toLowerCase())) {
      context.addIssue({ code: 'custom', message: `${owner} is listed twice` });
      return z.NEVER;
    }
    pinned.set(owner.toLowerCase(), installationId);
  }
  return pinned;
});

const privateKeyFile = z.string().transform((path, context) => {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    context.addIssue({
      code: 'custom',
      message: `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    });
    return z.NEVER;
  }
  const parsed = privateKeyPem.safeParse(text);
  if (!parsed.success) {
    context.addIssue({
      code: 'custom',
      message: `${path} must hold a PEM private key (the .pem file GitHub generated)`,
    });
    return z.NEVER;
  }
  return parsed.data;
});

const environmentSchema = z
  .object({
    DATABASE_URL: url(/^postgres(ql)?:$/, 'postgres://user@host:5432/db').optional(),
    DATABASE_LISTEN_URL: url(/^postgres(ql)?:$/, 'postgres://user@host:5432/db').optional(),
    DATABASE_PREPARED_STATEMENTS: boolean(true),
    REDIS_URL: redisUrl.optional(),
    QUEUE_PREFIX: z
      .string()
      .regex(/^[^:\s]+$/, { message: 'must not contain ":" or spaces' })
      .default('{runner-planner}'),
    GATEWAY_PORT: port(8080),
    PLANNER_PORT: port(8081),
    WORKER_PORT: port(8082),
    LISTEN_HOST: z
      .string()
      .refine((value) => isIP(value) !== 0 || value === 'localhost', {
        message: 'must be an IP address to listen on, such as 0.0.0.0, 127.0.0.1 or ::',
      })
      .optional(),
    ADMIN_TOKEN: z
      .string()
      .regex(ADMIN_TOKEN_PATTERN, {
        message: 'must be "planner_v0_" followed by 20 characters of A-Z a-z 0-9 _ -',
      })
      .optional(),
    GITHUB_WEBHOOK_SECRET: secretList,
    GITLAB_WEBHOOK_TOKEN: secretList,
    GITLAB_WEBHOOK_SIGNING_TOKEN: list,
    GITLAB_URL: url(/^https?:$/, 'https://gitlab.example.com').default('https://gitlab.com'),
    GITLAB_TOKEN: z.string().optional(),
    GITHUB_TOKEN: z.string().optional(),
    GITHUB_API_URL: url(/^https?:$/, 'https://api.github.com').default('https://api.github.com'),
    GITHUB_HOOKS: githubHooks,
    FORGE_ALLOW_HTTP: boolean(false),
    GITHUB_APP_ID: z.coerce
      .number({ error: 'must be a number' })
      .int({ error: 'must be a whole number (the App ID on the App settings page)' })
      .positive({ error: 'must be greater than 0' })
      .optional(),
    GITHUB_APP_PRIVATE_KEY: privateKeyPem.optional(),
    GITHUB_APP_PRIVATE_KEY_FILE: privateKeyFile.optional(),
    GITHUB_APP_INSTALLATION_IDS: githubAppInstallationIds,
    RECONCILE_INTERVAL: duration('5m'),
    RECONCILE_STALE_AFTER: duration('15m'),
    RECONCILE_HELD_AFTER: duration('1h'),
    RECONCILE_BATCH_SIZE: positiveInt(100),
    GITHUB_SELF_HOSTED_ONLY: boolean(true),
    GITHUB_IMPLICIT_LABELS: list,
    WORKER_CONCURRENCY: positiveInt(10),
    WORKER_LOCK_SECONDS: positiveInt(30),
    // Milliseconds-scale: a bare number here would be seconds, like every other duration.
    WORKER_BATCH_WINDOW: durationOrOff('10ms').refine((milliseconds) => milliseconds <= 1_000, {
      message: 'must be at most 1s (each job write waits up to this long)',
    }),
    FORGE_REFUSED_TRIES: positiveInt(3),
    FORGE_REFUSED_RETRY_DELAY: duration('1m'),
    DEAD_LETTER_MAX_COUNT: positiveInt(5_000),
    DEAD_LETTER_MAX_AGE: duration('7d'),
    JOB_RETENTION: durationOrOff('90d'),
    RAW_PAYLOAD_RETENTION: durationOrOff('7d'),
    RETENTION_INTERVAL: duration('1h'),
    PRESSURE_STALE_AFTER: duration('5d'),
    PRESSURE_HEARTBEAT_SECONDS: positiveInt(30),
    PRESSURE_STREAMS_PER_TOKEN: positiveInt(64),
    PRESSURE_STREAMS_MAX: positiveInt(512),
    PRESSURE_STREAM_MAX_AGE: duration('1h'),
    METRICS_TOKEN: z
      .string()
      .regex(/^[\x21-\x7e]{16,}$/, {
        message: 'must be at least 16 characters of printable ASCII, without spaces (a bearer token)',
      })
      .optional(),
    METRICS_CACHE_SECONDS: z.coerce
      .number({ error: 'must be a number of seconds (0 = every scrape collects)' })
      .int({ error: 'must be a whole number of seconds (0 = every scrape collects)' })
      .min(0, { error: 'must be 0 or more' })
      .max(300, { error: 'must be at most 300' })
      .default(5),
    GATEWAY_BODY_LIMIT: size('1mb'),
    // 46 times the largest workflow_job example, twice a synthetic one with 1,000 steps (docs/security.md).
    GATEWAY_GITHUB_BODY_LIMIT: size('512kb'),
    GATEWAY_REPLAY_WINDOW: durationOrOff('1h'),
    GATEWAY_REPLICA_ACKS: z.coerce
      .number({ error: 'must be a number' })
      .int({ error: 'must be a whole number' })
      .min(0, { error: 'must be 0 (off) or more' })
      .max(16, { error: 'must be at most 16' })
      .default(0),
    GATEWAY_REPLICA_TIMEOUT: duration('1s'),
    GATEWAY_REQUEST_TIMEOUT: duration('10s'),
    GATEWAY_HEADERS_TIMEOUT: duration('5s'),
    GATEWAY_IDLE_TIMEOUT: duration('10s'),
    GATEWAY_KEEP_ALIVE_TIMEOUT: duration('72s'),
    GATEWAY_MAX_CONNECTIONS: positiveInt(256),
    GATEWAY_AUTH_FAILURE_LIMIT: perMinuteLimit(60),
    PLANNER_RATE_LIMIT: perMinuteLimit(600),
    PLANNER_REQUEST_TIMEOUT: duration('10s'),
    PLANNER_HEADERS_TIMEOUT: duration('5s'),
    PLANNER_IDLE_TIMEOUT: duration('60s'),
    PLANNER_KEEP_ALIVE_TIMEOUT: duration('72s'),
    PLANNER_MAX_CONNECTIONS: positiveInt(1024),
    METRICS_REPO_LIMIT: z.coerce
      .number({ error: 'must be a number of repositories (0 = none by name)' })
      .int({ error: 'must be a whole number of repositories (0 = none by name)' })
      .min(0, { error: 'must be 0 (every repository counted as "other") or more' })
      .max(100_000, { error: 'must be at most 100000: each repository adds dozens of series' })
      .default(500),
    LOG_LEVEL: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }).default('info'),
    LOG_FORMAT: z.enum(LOG_FORMATS, { error: `must be one of ${LOG_FORMATS.join(', ')}` }).optional(),
    // Below every grace period of infra/ (Kubernetes: 30 s less a 5 s preStop; compose: 25 s).
    SHUTDOWN_TIMEOUT: duration('20s'),
  })
  .superRefine((e, context) => {
    // The API token travels in every request: over http to another machine anyone on the path
    // reads it. Loopback (tests, a local proxy) and an explicit opt-in are allowed.
    for (const name of ['GITLAB_URL', 'GITHUB_API_URL'] as const) {
      if (!e.FORGE_ALLOW_HTTP && isRemoteHttp(e[name])) {
        context.addIssue({
          code: 'custom',
          path: [name],
          message:
            'must be https (http sends the API token in clear text); http is accepted for loopback addresses, or with FORGE_ALLOW_HTTP=true',
        });
      }
    }
    const problem = (path: string, message: string) =>
      context.addIssue({ code: 'custom', path: [path], message });
    if (e.GITHUB_APP_PRIVATE_KEY !== undefined && e.GITHUB_APP_PRIVATE_KEY_FILE !== undefined) {
      problem(
        'GITHUB_APP_PRIVATE_KEY_FILE',
        'set only one of GITHUB_APP_PRIVATE_KEY and GITHUB_APP_PRIVATE_KEY_FILE',
      );
    }
    const hasKey = e.GITHUB_APP_PRIVATE_KEY !== undefined || e.GITHUB_APP_PRIVATE_KEY_FILE !== undefined;
    if (e.GITHUB_APP_ID !== undefined && !hasKey) {
      problem('GITHUB_APP_PRIVATE_KEY', 'must be set with GITHUB_APP_ID (or GITHUB_APP_PRIVATE_KEY_FILE)');
    }
    if (e.GITHUB_APP_ID === undefined && hasKey) {
      problem('GITHUB_APP_ID', 'must be set with the App private key');
    }
    if (e.GITHUB_APP_INSTALLATION_IDS.size > 0 && e.GITHUB_APP_ID === undefined) {
      problem('GITHUB_APP_INSTALLATION_IDS', 'needs GITHUB_APP_ID and the App private key');
    }
    if (e.GITHUB_HOOKS.some((hook) => hook.kind === 'app') && (e.GITHUB_APP_ID === undefined || !hasKey)) {
      problem(
        'GITHUB_HOOKS',
        '"app" needs GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY (or GITHUB_APP_PRIVATE_KEY_FILE)',
      );
    }
    // Node refuses a headers timeout longer than the request timeout.
    for (const app of ['GATEWAY', 'PLANNER'] as const) {
      if (e[`${app}_HEADERS_TIMEOUT`] > e[`${app}_REQUEST_TIMEOUT`]) {
        problem(`${app}_HEADERS_TIMEOUT`, `must not be longer than ${app}_REQUEST_TIMEOUT`);
      }
    }
    if (e.PLANNER_IDLE_TIMEOUT <= e.PRESSURE_HEARTBEAT_SECONDS * 1000) {
      problem(
        'PLANNER_IDLE_TIMEOUT',
        `must be longer than PRESSURE_HEARTBEAT_SECONDS (${e.PRESSURE_HEARTBEAT_SECONDS} s): a pressure stream sends nothing between heartbeats`,
      );
    }
    if (isClusterUrl(e.REDIS_URL) && !/^\{[^{}]+\}/.test(e.QUEUE_PREFIX)) {
      problem(
        'QUEUE_PREFIX',
        'must start with a {hash tag} when REDIS_URL is a Redis Cluster: every key of a queue must be in one hash slot',
      );
    }
  });

/** Whether REDIS_URL names a Cluster (a malformed one is reported on REDIS_URL itself). */
function isClusterUrl(url: string | undefined): boolean {
  try {
    return url !== undefined && clusterTarget(url) !== undefined;
  } catch {
    return false;
  }
}

export type Environment = z.infer<typeof environmentSchema>;

/** What an app's HTTP server allows a connection (the GATEWAY_… and PLANNER_… variables). */
export interface HttpServerLimits {
  /** Headers and body must have arrived within this (Node's `server.requestTimeout`); 408 after. */
  requestTimeoutMs: number;
  /** Headers must have arrived within this (`server.headersTimeout`); at most `requestTimeoutMs`. */
  headersTimeoutMs: number;
  /** A connection that sends and receives nothing for this long is closed (`server.timeout`). */
  idleTimeoutMs: number;
  /** How long a keep-alive connection may wait for its next request (`server.keepAliveTimeout`). */
  keepAliveTimeoutMs: number;
  /** Connections beyond this many are closed as they arrive (`server.maxConnections`). */
  maxConnections: number;
  /**
   * How often Node looks for requests past their timeouts (`connectionsCheckingInterval`): its
   * default, 30 s, would let a slow request live up to 30 s longer than the timeout.
   */
  timeoutCheckIntervalMs: number;
}

function httpServerLimits(
  requestTimeoutMs: number,
  headersTimeoutMs: number,
  idleTimeoutMs: number,
  keepAliveTimeoutMs: number,
  maxConnections: number,
): HttpServerLimits {
  return {
    requestTimeoutMs,
    headersTimeoutMs,
    idleTimeoutMs,
    keepAliveTimeoutMs,
    maxConnections,
    timeoutCheckIntervalMs: Math.max(50, Math.min(1_000, Math.floor(headersTimeoutMs / 4))),
  };
}

/** Shared settings of every app, from the environment variables documented in the README. */
export interface Config {
  databaseUrl: string | undefined;
  /** The LISTEN connection's URL (DATABASE_LISTEN_URL): direct, when DATABASE_URL is a pooler in transaction mode. */
  databaseListenUrl: string | undefined;
  /** Named prepared statements on the hot paths; off for PgBouncer before 1.21 in transaction mode. */
  databasePreparedStatements: boolean;
  redisUrl: string;
  queuePrefix: string;
  gatewayPort: number;
  plannerPort: number;
  workerPort: number;
  /**
   * The address the apps' HTTP servers listen on; undefined = the app's own default (every
   * interface when an app runs alone, loopback under `runner-planner start`).
   */
  listenHost: string | undefined;
  adminToken: string | undefined;
  githubWebhookSecrets: string[];
  gitlabWebhookTokens: string[];
  gitlabWebhookSigningTokens: string[];
  gitlabUrl: string;
  gitlabToken: string | undefined;
  githubToken: string | undefined;
  /** GitHub REST API base URL (GitHub Enterprise: `https://HOST/api/v3`). */
  githubApiUrl: string;
  /** Webhooks whose failed `workflow_job` deliveries reconciliation redelivers. */
  githubHooks: GitHubHook[];
  /**
   * A GitHub App reconciliation authenticates as: with its JWT for the `app` hook, with its
   * installations' tokens for job look-ups and repository/organisation hooks.
   */
  githubApp: GitHubAppCredentials | undefined;
  /**
   * Owner (lowercase) → the App installation reconciliation uses for it; only these owners use
   * the App, and no owner's installation is looked up. Undefined: every owner's is looked up.
   */
  githubAppInstallationIds: ReadonlyMap<string, number> | undefined;
  reconcileIntervalMs: number;
  /** Incomplete jobs with no event for this long are looked up on the forge. */
  reconcileStaleAfterMs: number;
  /** Held jobs (created, manual, awaiting approval) are looked up after this long without an event or a lookup. */
  reconcileHeldAfterMs: number;
  reconcileBatchSize: number;
  githubSelfHostedOnly: boolean;
  githubImplicitLabels: string[];
  workerConcurrency: number;
  workerLockMs: number;
  /**
   * How long the worker gathers job writes into one statement and commit before sending them
   * (0: no wait). Saves PostgreSQL most of a commit per event; adds at most this to each event.
   */
  workerBatchWindowMs: number;
  /**
   * Tries of an event whose forge API lookup is refused (401, 403, 404) before it is
   * dead-lettered; a GitLab replica may answer 404 for up to a minute after a job is created.
   */
  forgeRefusedTries: number;
  /** Wait between those tries; refusals are cached for half of it. */
  forgeRefusedRetryMs: number;
  /** Dead letters (failed webhook jobs) kept: the newest this many… */
  deadLetterMaxCount: number;
  /** …and none older than this. */
  deadLetterMaxAgeMs: number;
  /** Jobs completed longer ago than this are deleted by the worker; 0: kept forever. */
  jobRetentionMs: number;
  /** Jobs completed longer ago than this keep their row but not their webhook payloads; 0: kept. */
  rawPayloadRetentionMs: number;
  /** How often the worker's retention pass runs. */
  retentionIntervalMs: number;
  pressureStaleAfterMs: number;
  pressureHeartbeatSeconds: number;
  /** Pressure streams one token (or the admin token) may have open on one planner; 429 above. */
  pressureStreamsPerToken: number;
  /** Pressure streams one planner holds open in all; 503 above. */
  pressureStreamsMax: number;
  /** A pressure stream ends cleanly after about this long (less up to a tenth); clients reconnect. */
  pressureStreamMaxAgeMs: number;
  /**
   * Bearer token `/metrics` of the planner asks for; with it the per-flavor series are shown.
   * Unset: `/metrics` is open and leaves out every series that names a flavor.
   */
  metricsToken: string | undefined;
  /** A `/metrics` answer is reused for this long, so a flood of scrapes reads the database once. */
  metricsCacheMs: number;
  gatewayBodyLimitBytes: number;
  /** Largest body on the GitHub route; `gatewayBodyLimitBytes` if that is smaller. */
  gatewayGitHubBodyLimitBytes: number;
  /** A signed body seen within this long is not queued again, whatever its delivery id; 0 = off. */
  gatewayReplayWindowMs: number;
  /** Redis replicas that must acknowledge a queued webhook before the 202 (WAIT); 0: off. */
  gatewayReplicaAcks: number;
  /** How long the gateway waits for them before answering 503. */
  gatewayReplicaTimeoutMs: number;
  gatewayServer: HttpServerLimits;
  plannerServer: HttpServerLimits;
  /**
   * Failed webhook verifications a client address may make per minute before the gateway
   * answers 429 instead of 401; 0 = no limit. Valid webhooks are never limited.
   */
  gatewayAuthFailureLimit: number;
  /** Planner requests (API and dashboard) a client address may make per minute; 0 = no limit. */
  plannerRateLimit: number;
  /**
   * Repositories a process labels metrics with by name (the first seen since it started); the
   * rest are counted under `repo="other"`, so a flood of repositories cannot flood Prometheus.
   */
  metricsRepoLimit: number;
  logLevel: (typeof LOG_LEVELS)[number];
  /** LOG_FORMAT; undefined: pretty on a terminal, JSON otherwise (see `pinoOptions`). */
  logFormat: (typeof LOG_FORMATS)[number] | undefined;
  /** How long a process may take to close after SIGTERM before it exits 1 anyway. */
  shutdownTimeoutMs: number;
}

/** Reads and checks the environment; throws ConfigError naming every bad variable at once. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // An empty variable means "not set", as in most deployment tools' templates.
  const present = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value !== ''),
  );
  const result = environmentSchema.safeParse(present);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`));
  }
  const e = result.data;
  return {
    databaseUrl: e.DATABASE_URL,
    databaseListenUrl: e.DATABASE_LISTEN_URL,
    databasePreparedStatements: e.DATABASE_PREPARED_STATEMENTS,
    redisUrl: e.REDIS_URL ?? 'redis://127.0.0.1:6379',
    queuePrefix: e.QUEUE_PREFIX,
    gatewayPort: e.GATEWAY_PORT,
    plannerPort: e.PLANNER_PORT,
    workerPort: e.WORKER_PORT,
    listenHost: e.LISTEN_HOST,
    adminToken: e.ADMIN_TOKEN,
    githubWebhookSecrets: e.GITHUB_WEBHOOK_SECRET,
    gitlabWebhookTokens: e.GITLAB_WEBHOOK_TOKEN,
    gitlabWebhookSigningTokens: e.GITLAB_WEBHOOK_SIGNING_TOKEN,
    gitlabUrl: e.GITLAB_URL,
    gitlabToken: e.GITLAB_TOKEN,
    githubToken: e.GITHUB_TOKEN,
    githubApiUrl: e.GITHUB_API_URL.replace(/\/+$/, ''),
    githubHooks: e.GITHUB_HOOKS,
    githubApp:
      e.GITHUB_APP_ID === undefined
        ? undefined
        : {
            appId: e.GITHUB_APP_ID,
            privateKey: e.GITHUB_APP_PRIVATE_KEY ?? e.GITHUB_APP_PRIVATE_KEY_FILE ?? '',
          },
    githubAppInstallationIds:
      e.GITHUB_APP_INSTALLATION_IDS.size > 0 ? e.GITHUB_APP_INSTALLATION_IDS : undefined,
    reconcileIntervalMs: e.RECONCILE_INTERVAL,
    reconcileStaleAfterMs: e.RECONCILE_STALE_AFTER,
    reconcileHeldAfterMs: e.RECONCILE_HELD_AFTER,
    reconcileBatchSize: e.RECONCILE_BATCH_SIZE,
    githubSelfHostedOnly: e.GITHUB_SELF_HOSTED_ONLY,
    githubImplicitLabels: e.GITHUB_IMPLICIT_LABELS,
    workerConcurrency: e.WORKER_CONCURRENCY,
    workerLockMs: e.WORKER_LOCK_SECONDS * 1000,
    workerBatchWindowMs: e.WORKER_BATCH_WINDOW,
    forgeRefusedTries: e.FORGE_REFUSED_TRIES,
    forgeRefusedRetryMs: e.FORGE_REFUSED_RETRY_DELAY,
    deadLetterMaxCount: e.DEAD_LETTER_MAX_COUNT,
    deadLetterMaxAgeMs: e.DEAD_LETTER_MAX_AGE,
    jobRetentionMs: e.JOB_RETENTION,
    rawPayloadRetentionMs: e.RAW_PAYLOAD_RETENTION,
    retentionIntervalMs: e.RETENTION_INTERVAL,
    pressureStaleAfterMs: e.PRESSURE_STALE_AFTER,
    pressureHeartbeatSeconds: e.PRESSURE_HEARTBEAT_SECONDS,
    pressureStreamsPerToken: e.PRESSURE_STREAMS_PER_TOKEN,
    pressureStreamsMax: e.PRESSURE_STREAMS_MAX,
    pressureStreamMaxAgeMs: e.PRESSURE_STREAM_MAX_AGE,
    metricsToken: e.METRICS_TOKEN,
    metricsCacheMs: e.METRICS_CACHE_SECONDS * 1000,
    gatewayBodyLimitBytes: e.GATEWAY_BODY_LIMIT,
    gatewayGitHubBodyLimitBytes: e.GATEWAY_GITHUB_BODY_LIMIT,
    gatewayReplayWindowMs: e.GATEWAY_REPLAY_WINDOW,
    gatewayReplicaAcks: e.GATEWAY_REPLICA_ACKS,
    gatewayReplicaTimeoutMs: e.GATEWAY_REPLICA_TIMEOUT,
    gatewayServer: httpServerLimits(
      e.GATEWAY_REQUEST_TIMEOUT,
      e.GATEWAY_HEADERS_TIMEOUT,
      e.GATEWAY_IDLE_TIMEOUT,
      e.GATEWAY_KEEP_ALIVE_TIMEOUT,
      e.GATEWAY_MAX_CONNECTIONS,
    ),
    plannerServer: httpServerLimits(
      e.PLANNER_REQUEST_TIMEOUT,
      e.PLANNER_HEADERS_TIMEOUT,
      e.PLANNER_IDLE_TIMEOUT,
      e.PLANNER_KEEP_ALIVE_TIMEOUT,
      e.PLANNER_MAX_CONNECTIONS,
    ),
    gatewayAuthFailureLimit: e.GATEWAY_AUTH_FAILURE_LIMIT,
    plannerRateLimit: e.PLANNER_RATE_LIMIT,
    metricsRepoLimit: e.METRICS_REPO_LIMIT,
    logLevel: e.LOG_LEVEL,
    logFormat: e.LOG_FORMAT,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT,
  };
}

/** For apps that cannot run without a value the all-in-one start would otherwise provide. */
export function requireSetting<T>(value: T | undefined, variable: string, why: string): T {
  if (value === undefined || (Array.isArray(value) && value.length === 0)) {
    throw new ConfigError([`${variable}: must be set (${why})`]);
  }
  return value;
}
