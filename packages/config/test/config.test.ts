import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, requireSetting } from '../src/index.js';
import { problemsOf } from './problems.js';

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    expect(loadConfig({})).toEqual({
      databaseUrl: undefined,
      databaseListenUrl: undefined,
      databasePreparedStatements: true,
      redisUrl: 'redis://127.0.0.1:6379',
      queuePrefix: '{runner-planner}',
      gatewayPort: 8080,
      plannerPort: 8081,
      workerPort: 8082,
      listenHost: undefined,
      adminToken: undefined,
      githubWebhookSecrets: [],
      gitlabWebhookTokens: [],
      gitlabWebhookSigningTokens: [],
      gitlabUrl: 'https://gitlab.com',
      gitlabToken: undefined,
      githubToken: undefined,
      githubApiUrl: 'https://api.github.com',
      githubHooks: [],
      reconcileIntervalMs: 5 * 60_000,
      reconcileStaleAfterMs: 15 * 60_000,
      reconcileHeldAfterMs: 60 * 60_000,
      reconcileBatchSize: 100,
      githubSelfHostedOnly: true,
      githubImplicitLabels: [],
      workerConcurrency: 10,
      workerLockMs: 30_000,
      workerBatchWindowMs: 10,
      forgeRefusedTries: 3,
      forgeRefusedRetryMs: 60_000,
      deadLetterMaxCount: 5_000,
      deadLetterMaxAgeMs: 7 * 86_400_000,
      jobRetentionMs: 90 * 86_400_000,
      rawPayloadRetentionMs: 7 * 86_400_000,
      retentionIntervalMs: 3_600_000,
      pressureStaleAfterMs: 5 * 86_400_000,
      pressureHeartbeatSeconds: 30,
      pressureStreamsPerToken: 64,
      pressureStreamsMax: 512,
      pressureStreamMaxAgeMs: 3_600_000,
      metricsToken: undefined,
      metricsCacheMs: 5_000,
      gatewayBodyLimitBytes: 1_048_576,
      gatewayGitHubBodyLimitBytes: 524_288,
      gatewayReplayWindowMs: 3_600_000,
      gatewayReplicaAcks: 0,
      gatewayReplicaTimeoutMs: 1_000,
      gatewayServer: {
        requestTimeoutMs: 10_000,
        headersTimeoutMs: 5_000,
        idleTimeoutMs: 10_000,
        keepAliveTimeoutMs: 72_000,
        maxConnections: 256,
        timeoutCheckIntervalMs: 1_000,
      },
      plannerServer: {
        requestTimeoutMs: 10_000,
        headersTimeoutMs: 5_000,
        idleTimeoutMs: 60_000,
        keepAliveTimeoutMs: 72_000,
        maxConnections: 1_024,
        timeoutCheckIntervalMs: 1_000,
      },
      gatewayAuthFailureLimit: 60,
      plannerRateLimit: 600,
      metricsRepoLimit: 500,
      logLevel: 'info',
      shutdownTimeoutMs: 20_000,
    });
  });

  it('reads every variable', () => {
    const config = loadConfig({
      DATABASE_URL: 'postgresql://u@db:5432/planner',
      REDIS_URL: 'rediss://cache:6380',
      QUEUE_PREFIX: '{rp-prod}',
      GATEWAY_PORT: '9000',
      ADMIN_TOKEN: 'planner_v0_abcdefghij_-01234567',
      GITHUB_WEBHOOK_SECRET: 'old-secret-0123456789, new-secret-0123456789',
      GITLAB_WEBHOOK_TOKEN: 'gitlab-token-0123456789',
      GITLAB_URL: 'https://gitlab.example.com',
      GITLAB_TOKEN: 'glpat-x',
      GITHUB_SELF_HOSTED_ONLY: 'false',
      GITHUB_IMPLICIT_LABELS: 'x64,jammy',
      WORKER_CONCURRENCY: '32',
      PRESSURE_STALE_AFTER: '12h',
      PRESSURE_HEARTBEAT_SECONDS: '5',
      GATEWAY_BODY_LIMIT: '512kb',
      LOG_LEVEL: 'debug',
      SHUTDOWN_TIMEOUT: '45s',
    });
    expect(config).toMatchObject({
      databaseUrl: 'postgresql://u@db:5432/planner',
      redisUrl: 'rediss://cache:6380',
      queuePrefix: '{rp-prod}',
      gatewayPort: 9000,
      adminToken: 'planner_v0_abcdefghij_-01234567',
      githubWebhookSecrets: ['old-secret-0123456789', 'new-secret-0123456789'],
      gitlabWebhookTokens: ['gitlab-token-0123456789'],
      githubSelfHostedOnly: false,
      githubImplicitLabels: ['x64', 'jammy'],
      workerConcurrency: 32,
      pressureStaleAfterMs: 12 * 3_600_000,
      pressureHeartbeatSeconds: 5,
      gatewayBodyLimitBytes: 512 * 1024,
      logLevel: 'debug',
      shutdownTimeoutMs: 45_000,
    });
    expect(loadConfig({ PRESSURE_STALE_AFTER: '3600' }).pressureStaleAfterMs).toBe(3_600_000);
  });

  it('reads the reconciliation settings', () => {
    expect(
      loadConfig({
        GITHUB_API_URL: 'https://ghe.example.com/api/v3/',
        GITHUB_HOOKS: 'repo:octo/hello-world:12, org:octo-org:34',
        RECONCILE_INTERVAL: '2m',
        RECONCILE_STALE_AFTER: '3600',
        RECONCILE_HELD_AFTER: '2h',
        RECONCILE_BATCH_SIZE: '250',
      }),
    ).toMatchObject({
      githubApiUrl: 'https://ghe.example.com/api/v3',
      githubHooks: [
        { kind: 'repo', owner: 'octo', repo: 'hello-world', hookId: 12 },
        { kind: 'org', org: 'octo-org', hookId: 34 },
      ],
      reconcileIntervalMs: 120_000,
      reconcileStaleAfterMs: 3_600_000,
      reconcileHeldAfterMs: 7_200_000,
      reconcileBatchSize: 250,
    });
    expect(loadConfig({}).reconcileHeldAfterMs).toBe(3_600_000);
    const message = problemsOf({
      GITHUB_API_URL: 'ftp://x',
      GITHUB_HOOKS: 'repo:octo:12',
      RECONCILE_INTERVAL: 'often',
      RECONCILE_STALE_AFTER: '0',
      RECONCILE_HELD_AFTER: 'sometimes',
      RECONCILE_BATCH_SIZE: '-1',
    });
    for (const expected of [
      'GITHUB_API_URL: must be a URL (https://api.github.com',
      'GITHUB_HOOKS: "repo:octo:12" must be repo:OWNER/REPO:HOOK_ID, org:ORG:HOOK_ID or app',
      'RECONCILE_INTERVAL: must be a duration',
      'RECONCILE_STALE_AFTER: must be a duration',
      'RECONCILE_HELD_AFTER: must be a duration',
      'RECONCILE_BATCH_SIZE: must be greater than 0',
    ]) {
      expect(message).toContain(expected);
    }
    expect(problemsOf({ GITHUB_HOOKS: 'team:x:1' })).toContain('GITHUB_HOOKS');
    expect(problemsOf({ GITHUB_HOOKS: 'org:x:abc' })).toContain('GITHUB_HOOKS');
  });

  it('reads the rate limits, 0 meaning none', () => {
    expect(loadConfig({ GATEWAY_AUTH_FAILURE_LIMIT: '10', PLANNER_RATE_LIMIT: '0' })).toMatchObject({
      gatewayAuthFailureLimit: 10,
      plannerRateLimit: 0,
    });
    const message = problemsOf({ GATEWAY_AUTH_FAILURE_LIMIT: '-1', PLANNER_RATE_LIMIT: 'lots' });
    expect(message).toContain('GATEWAY_AUTH_FAILURE_LIMIT: must be 0 (no limit) or more');
    expect(message).toContain('PLANNER_RATE_LIMIT: must be a number of requests per minute');
  });

  it('reads the repository cap of metric labels, 0 naming none', () => {
    expect(loadConfig({ METRICS_REPO_LIMIT: '0' }).metricsRepoLimit).toBe(0);
    expect(loadConfig({ METRICS_REPO_LIMIT: '2000' }).metricsRepoLimit).toBe(2000);
    expect(problemsOf({ METRICS_REPO_LIMIT: '-1' })).toContain('METRICS_REPO_LIMIT: must be 0');
    expect(problemsOf({ METRICS_REPO_LIMIT: 'all' })).toContain('METRICS_REPO_LIMIT: must be a number');
    expect(problemsOf({ METRICS_REPO_LIMIT: '1000000' })).toContain('METRICS_REPO_LIMIT: must be at most');
  });

  it('reads the bounds on refused forge lookups and on dead letters', () => {
    expect(
      loadConfig({
        FORGE_REFUSED_TRIES: '5',
        FORGE_REFUSED_RETRY_DELAY: '30s',
        DEAD_LETTER_MAX_COUNT: '200',
        DEAD_LETTER_MAX_AGE: '2d',
      }),
    ).toMatchObject({
      forgeRefusedTries: 5,
      forgeRefusedRetryMs: 30_000,
      deadLetterMaxCount: 200,
      deadLetterMaxAgeMs: 2 * 86_400_000,
    });
    const message = problemsOf({
      FORGE_REFUSED_TRIES: '0',
      FORGE_REFUSED_RETRY_DELAY: 'soon',
      DEAD_LETTER_MAX_COUNT: 'all',
      DEAD_LETTER_MAX_AGE: '-1d',
    });
    expect(message).toContain('FORGE_REFUSED_TRIES: must be greater than 0');
    expect(message).toContain('FORGE_REFUSED_RETRY_DELAY: must be a duration');
    expect(message).toContain('DEAD_LETTER_MAX_COUNT: must be a number');
    expect(message).toContain('DEAD_LETTER_MAX_AGE: must be a duration');
  });

  it('reads the retention horizons, 0 keeping jobs and payloads', () => {
    expect(
      loadConfig({ JOB_RETENTION: '400d', RAW_PAYLOAD_RETENTION: '0', RETENTION_INTERVAL: '10m' }),
    ).toMatchObject({
      jobRetentionMs: 400 * 86_400_000,
      rawPayloadRetentionMs: 0,
      retentionIntervalMs: 600_000,
    });
    expect(loadConfig({ JOB_RETENTION: '0' })).toMatchObject({ jobRetentionMs: 0 });
    const message = problemsOf({
      JOB_RETENTION: 'forever',
      RAW_PAYLOAD_RETENTION: '-7d',
      RETENTION_INTERVAL: '0',
    });
    expect(message).toContain(
      'JOB_RETENTION: must be a duration such as 1h, 30m or 3600 (seconds), or 0 (off)',
    );
    expect(message).toContain('RAW_PAYLOAD_RETENTION: must be a duration');
    expect(message).toContain('RETENTION_INTERVAL: must be a duration');
  });

  it('reads the worker batch window: 10ms by default, 0 for none, at most a second', () => {
    expect(loadConfig({})).toMatchObject({ workerBatchWindowMs: 10 });
    expect(loadConfig({ WORKER_BATCH_WINDOW: '25ms' })).toMatchObject({ workerBatchWindowMs: 25 });
    expect(loadConfig({ WORKER_BATCH_WINDOW: '0' })).toMatchObject({ workerBatchWindowMs: 0 });
    expect(problemsOf({ WORKER_BATCH_WINDOW: '5' })).toContain(
      'WORKER_BATCH_WINDOW: must be at most 1s (each job write waits up to this long)',
    );
    expect(problemsOf({ WORKER_BATCH_WINDOW: 'soon' })).toContain('WORKER_BATCH_WINDOW: must be a duration');
  });

  it('reads a separate LISTEN URL and prepared statements off, for PgBouncer in transaction mode', () => {
    expect(
      loadConfig({
        DATABASE_URL: 'postgres://rp@pgbouncer:6432/rp',
        DATABASE_LISTEN_URL: 'postgres://rp@postgres:5432/rp',
        DATABASE_PREPARED_STATEMENTS: 'false',
      }),
    ).toMatchObject({
      databaseUrl: 'postgres://rp@pgbouncer:6432/rp',
      databaseListenUrl: 'postgres://rp@postgres:5432/rp',
      databasePreparedStatements: false,
    });
    const message = problemsOf({
      DATABASE_LISTEN_URL: 'redis://x:6379',
      DATABASE_PREPARED_STATEMENTS: 'maybe',
    });
    expect(message).toContain('DATABASE_LISTEN_URL');
    expect(message).toContain('DATABASE_PREPARED_STATEMENTS: must be true or false');
  });

  it('treats empty variables as unset', () => {
    expect(loadConfig({ GATEWAY_PORT: '', DATABASE_URL: '' })).toMatchObject({
      gatewayPort: 8080,
      databaseUrl: undefined,
    });
  });

  it('names every bad variable at once, with what it must be', () => {
    const message = problemsOf({
      GATEWAY_PORT: 'eighty',
      PLANNER_PORT: '70000',
      DATABASE_URL: 'mysql://x',
      REDIS_URL: 'not a url',
      GITHUB_SELF_HOSTED_ONLY: 'maybe',
      WORKER_CONCURRENCY: '0',
      PRESSURE_STALE_AFTER: 'soon',
      GATEWAY_BODY_LIMIT: 'big',
      LOG_LEVEL: 'loud',
      QUEUE_PREFIX: 'a:b',
      LISTEN_HOST: 'all interfaces',
      SHUTDOWN_TIMEOUT: 'never',
    });
    for (const expected of [
      'GATEWAY_PORT: must be a port number',
      'PLANNER_PORT: must be between 1 and 65535',
      'DATABASE_URL: must be a URL (postgres://',
      'REDIS_URL: must be a URL (redis://',
      'GITHUB_SELF_HOSTED_ONLY: must be true or false',
      'WORKER_CONCURRENCY: must be greater than 0',
      'PRESSURE_STALE_AFTER: must be a duration',
      'GATEWAY_BODY_LIMIT: must be a size',
      'LOG_LEVEL: must be one of',
      'QUEUE_PREFIX: must not contain ":"',
      'LISTEN_HOST: must be an IP address',
      'SHUTDOWN_TIMEOUT: must be a duration',
    ]) {
      expect(message).toContain(expected);
    }
  });

  it('refuses webhook secrets shorter than 16 characters, without echoing them', () => {
    const message = problemsOf({
      GITHUB_WEBHOOK_SECRET: 'long-enough-secret-1,short1',
      GITLAB_WEBHOOK_TOKEN: 'tok',
    });
    expect(message).toContain('GITHUB_WEBHOOK_SECRET: each secret must be at least 16 characters');
    expect(message).toContain('GITLAB_WEBHOOK_TOKEN: each secret must be at least 16 characters');
    expect(message).not.toContain('short1');
    expect(loadConfig({ GITHUB_WEBHOOK_SECRET: '0123456789abcdef' }).githubWebhookSecrets).toEqual([
      '0123456789abcdef',
    ]);
  });

  it('refuses http forge API URLs to other machines unless FORGE_ALLOW_HTTP=true', () => {
    const message = problemsOf({
      GITLAB_URL: 'http://gitlab.example.com',
      GITHUB_API_URL: 'http://ghe.internal/api/v3',
    });
    expect(message).toContain('GITLAB_URL: must be https (http sends the API token in clear text)');
    expect(message).toContain('GITHUB_API_URL: must be https');
    for (const local of ['http://127.0.0.1:8929', 'http://localhost:3000', 'http://[::1]:8080']) {
      expect(loadConfig({ GITLAB_URL: local }).gitlabUrl).toBe(local);
    }
    expect(loadConfig({ GITLAB_URL: 'http://gitlab.internal', FORGE_ALLOW_HTTP: 'true' }).gitlabUrl).toBe(
      'http://gitlab.internal',
    );
  });

  it('never echoes a bad secret', () => {
    const message = problemsOf({ ADMIN_TOKEN: 'planner_v0_short-secret-value' });
    expect(message).toContain('ADMIN_TOKEN: must be "planner_v0_"');
    expect(message).not.toContain('short-secret-value');
  });
});

describe('requireSetting', () => {
  it('returns a set value and explains a missing one', () => {
    expect(requireSetting(['s'], 'GITHUB_WEBHOOK_SECRET', 'to verify webhooks')).toEqual(['s']);
    expect(() => requireSetting([], 'GITHUB_WEBHOOK_SECRET', 'to verify webhooks')).toThrow(
      'GITHUB_WEBHOOK_SECRET: must be set (to verify webhooks)',
    );
    expect(() => requireSetting(undefined, 'DATABASE_URL', 'where jobs are stored')).toThrow(ConfigError);
  });
});
