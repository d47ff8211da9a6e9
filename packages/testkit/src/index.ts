export { collectOutput } from './child-output.js';
export { type EmbeddedPostgres, startEmbeddedPostgres } from './embedded.js';
export {
  type FakeGitHub,
  type FakeGitHubApp,
  type FakeGitHubAuth,
  type FakeGitHubDelivery,
  type FakeGitHubInstallation,
  type FakeGitHubInstallationToken,
  type FakeGitHubJob,
  type FakeGitHubPermission,
  type FakeGitHubRequest,
  startFakeGitHub,
} from './fake-github.js';
export { type FakeGitLab, type FakeGitLabJob, startFakeGitLab } from './fake-gitlab.js';
export { PGBOUNCER, type PgBouncer, startPgBouncer } from './pgbouncer.js';
export { ADMIN_URL_KEY } from './provided-context.js';
export {
  LOCAL_POSTGRES_URL,
  type PostgresServer,
  type PostgresServerKind,
  type PostgresServerMode,
  type ResolvePostgresServerOptions,
  resolvePostgresServer,
  SERVER_MODE_ENV,
} from './server.js';
export { startTcpProxy, type TcpProxy } from './tcp-proxy.js';
export {
  type CreateTestDatabaseOptions,
  createTestDatabase,
  type TestDatabase,
  testAdminUrl,
  testDatabaseName,
} from './test-database.js';
export { createTestQueuePrefix, TEST_REDIS_URL, type TestQueuePrefix } from './test-queue.js';
export { testDatabaseGlobalSetup } from './vitest-global-setup.js';
