import bytes from 'bytes';
import ms from 'ms';
import { z } from 'zod';

/** One or more bad environment variables; the message has a line per variable, never a secret's value. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
  }
}

export const ADMIN_TOKEN_PATTERN = /^planner_v0_[A-Za-z0-9_-]{20}$/;
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

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

/** `repo:OWNER/REPO:HOOK_ID` or `org:ORG:HOOK_ID`, as in GITHUB_HOOKS. */
export type GitHubHook =
  | { kind: 'repo'; owner: string; repo: string; hookId: number }
  | { kind: 'org'; org: string; hookId: number };

const GITHUB_NAME = /^[A-Za-z0-9_.-]+$/;

function parseGitHubHook(item: string): GitHubHook | undefined {
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
        message: `${JSON.stringify(item)} must be repo:OWNER/REPO:HOOK_ID or org:ORG:HOOK_ID`,
      });
      return z.NEVER;
    }
    hooks.push(hook);
  }
  return hooks;
});

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

const environmentSchema = z.object({
  DATABASE_URL: url(/^postgres(ql)?:$/, 'postgres://user@host:5432/db').optional(),
  REDIS_URL: url(/^rediss?:$/, 'redis://host:6379').optional(),
  QUEUE_PREFIX: z
    .string()
    .regex(/^[^:\s]+$/, { message: 'must not contain ":" or spaces' })
    .default('{runner-planner}'),
  GATEWAY_PORT: port(8080),
  PLANNER_PORT: port(8081),
  WORKER_PORT: port(8082),
  ADMIN_TOKEN: z
    .string()
    .regex(ADMIN_TOKEN_PATTERN, {
      message: 'must be "planner_v0_" followed by 20 characters of A-Z a-z 0-9 _ -',
    })
    .optional(),
  GITHUB_WEBHOOK_SECRET: list,
  GITLAB_WEBHOOK_TOKEN: list,
  GITLAB_WEBHOOK_SIGNING_TOKEN: list,
  GITLAB_URL: url(/^https?:$/, 'https://gitlab.example.com').default('https://gitlab.com'),
  GITLAB_TOKEN: z.string().optional(),
  GITHUB_TOKEN: z.string().optional(),
  GITHUB_API_URL: url(/^https?:$/, 'https://api.github.com').default('https://api.github.com'),
  GITHUB_HOOKS: githubHooks,
  RECONCILE_INTERVAL: duration('5m'),
  RECONCILE_STALE_AFTER: duration('15m'),
  RECONCILE_BATCH_SIZE: positiveInt(100),
  GITHUB_SELF_HOSTED_ONLY: boolean(true),
  GITHUB_IMPLICIT_LABELS: list,
  WORKER_CONCURRENCY: positiveInt(10),
  WORKER_LOCK_SECONDS: positiveInt(30),
  PRESSURE_STALE_AFTER: duration('5d'),
  PRESSURE_HEARTBEAT_SECONDS: positiveInt(30),
  GATEWAY_BODY_LIMIT: size('1mb'),
  LOG_LEVEL: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }).default('info'),
});

export type Environment = z.infer<typeof environmentSchema>;

/** Shared settings of every app, from the environment variables documented in the README. */
export interface Config {
  databaseUrl: string | undefined;
  redisUrl: string;
  queuePrefix: string;
  gatewayPort: number;
  plannerPort: number;
  workerPort: number;
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
  reconcileIntervalMs: number;
  /** Incomplete jobs with no event for this long are looked up on the forge. */
  reconcileStaleAfterMs: number;
  reconcileBatchSize: number;
  githubSelfHostedOnly: boolean;
  githubImplicitLabels: string[];
  workerConcurrency: number;
  workerLockMs: number;
  pressureStaleAfterMs: number;
  pressureHeartbeatSeconds: number;
  gatewayBodyLimitBytes: number;
  logLevel: (typeof LOG_LEVELS)[number];
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
    redisUrl: e.REDIS_URL ?? 'redis://127.0.0.1:6379',
    queuePrefix: e.QUEUE_PREFIX,
    gatewayPort: e.GATEWAY_PORT,
    plannerPort: e.PLANNER_PORT,
    workerPort: e.WORKER_PORT,
    adminToken: e.ADMIN_TOKEN,
    githubWebhookSecrets: e.GITHUB_WEBHOOK_SECRET,
    gitlabWebhookTokens: e.GITLAB_WEBHOOK_TOKEN,
    gitlabWebhookSigningTokens: e.GITLAB_WEBHOOK_SIGNING_TOKEN,
    gitlabUrl: e.GITLAB_URL,
    gitlabToken: e.GITLAB_TOKEN,
    githubToken: e.GITHUB_TOKEN,
    githubApiUrl: e.GITHUB_API_URL.replace(/\/+$/, ''),
    githubHooks: e.GITHUB_HOOKS,
    reconcileIntervalMs: e.RECONCILE_INTERVAL,
    reconcileStaleAfterMs: e.RECONCILE_STALE_AFTER,
    reconcileBatchSize: e.RECONCILE_BATCH_SIZE,
    githubSelfHostedOnly: e.GITHUB_SELF_HOSTED_ONLY,
    githubImplicitLabels: e.GITHUB_IMPLICIT_LABELS,
    workerConcurrency: e.WORKER_CONCURRENCY,
    workerLockMs: e.WORKER_LOCK_SECONDS * 1000,
    pressureStaleAfterMs: e.PRESSURE_STALE_AFTER,
    pressureHeartbeatSeconds: e.PRESSURE_HEARTBEAT_SECONDS,
    gatewayBodyLimitBytes: e.GATEWAY_BODY_LIMIT,
    logLevel: e.LOG_LEVEL,
  };
}

/** For apps that cannot run without a value the all-in-one start would otherwise provide. */
export function requireSetting<T>(value: T | undefined, variable: string, why: string): T {
  if (value === undefined || (Array.isArray(value) && value.length === 0)) {
    throw new ConfigError([`${variable}: must be set (${why})`]);
  }
  return value;
}
