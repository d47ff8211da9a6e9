import pg from 'pg';
import { startEmbeddedPostgres } from './embedded.js';

/** Where the test server came from, in the order they are tried. */
export type PostgresServerKind = 'env' | 'local' | 'embedded';

/** `auto` tries `DATABASE_URL`, then the local server, then embedded; `embedded` goes straight there. */
export type PostgresServerMode = 'auto' | 'embedded';

export interface PostgresServer {
  /** A superuser-capable URL (connects to the `postgres` maintenance database or the one given). */
  adminUrl: string;
  kind: PostgresServerKind;
  /** Stops the server when this process started it; a no-op otherwise. */
  stop(): Promise<void>;
}

export interface ResolvePostgresServerOptions {
  /** Defaults to `RUNNER_PLANNER_TEST_PG` when that is `embedded`, else `auto`. */
  mode?: PostgresServerMode;
}

export const LOCAL_POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
export const SERVER_MODE_ENV = 'RUNNER_PLANNER_TEST_PG';

const LOCAL_PROBE_TIMEOUT_MS = 2_000;

export async function resolvePostgresServer(
  options: ResolvePostgresServerOptions = {},
): Promise<PostgresServer> {
  const mode = options.mode ?? modeFromEnv();
  if (mode === 'auto') {
    const fromEnv = process.env.DATABASE_URL;
    if (fromEnv) return externalServer(fromEnv, 'env');
    if (await answers(LOCAL_POSTGRES_URL, LOCAL_PROBE_TIMEOUT_MS)) {
      return externalServer(LOCAL_POSTGRES_URL, 'local');
    }
  }
  const embedded = await startEmbeddedPostgres();
  return { adminUrl: embedded.url, kind: 'embedded', stop: embedded.stop };
}

function modeFromEnv(): PostgresServerMode {
  const value = process.env[SERVER_MODE_ENV];
  if (value === undefined || value === '' || value === 'auto') return 'auto';
  if (value === 'embedded') return 'embedded';
  throw new Error(`${SERVER_MODE_ENV} must be "auto" or "embedded", got "${value}"`);
}

function externalServer(adminUrl: string, kind: PostgresServerKind): PostgresServer {
  return { adminUrl, kind, stop: async () => {} };
}

async function answers(url: string, timeoutMs: number): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  // An unreachable server can still emit 'error' after connect() rejected; unhandled, it would crash.
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}
