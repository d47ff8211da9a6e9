import type { TestProject } from 'vitest/node';
import { ADMIN_URL_KEY } from './provided-context.js';
import { type PostgresServer, resolvePostgresServer } from './server.js';

interface SharedServer {
  server: Promise<PostgresServer>;
  users: number;
}

// Every project that opts in runs this setup in the same vitest process, each with its own module
// instance: a global slot lets them share one server (one embedded start per run, not per project).
const SHARED_SERVER = Symbol.for('@runner-planner/testkit:postgres-server');
type GlobalWithServer = typeof globalThis & { [SHARED_SERVER]?: SharedServer };

/**
 * A vitest `globalSetup`: resolves the test PostgreSQL server once per run and provides its
 * admin URL to every test file, where `createTestDatabase()` picks it up.
 */
export async function testDatabaseGlobalSetup(project: TestProject): Promise<() => Promise<void>> {
  const shared = acquireServer();
  const server = await shared.server;
  project.provide(ADMIN_URL_KEY, server.adminUrl);
  let released = false;
  return async () => {
    if (released) return;
    released = true;
    shared.users -= 1;
    if (shared.users > 0) return;
    delete (globalThis as GlobalWithServer)[SHARED_SERVER];
    await server.stop();
  };
}

function acquireServer(): SharedServer {
  const slot = globalThis as GlobalWithServer;
  let shared = slot[SHARED_SERVER];
  if (!shared) {
    const server = resolvePostgresServer().then((resolved) => {
      if (resolved.kind === 'embedded') {
        console.info(`[testkit] using an embedded PostgreSQL: ${redact(resolved.adminUrl)}`);
      }
      return resolved;
    });
    server.catch(() => {
      if (slot[SHARED_SERVER] === shared) delete slot[SHARED_SERVER];
    });
    shared = { server, users: 0 };
    slot[SHARED_SERVER] = shared;
  }
  shared.users += 1;
  return shared;
}

function redact(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}

export default testDatabaseGlobalSetup;
