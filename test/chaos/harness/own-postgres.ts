import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadEmbeddedPostgres, runsAsRoot } from '@runner-planner/embedded-postgres';
import { freePort } from '../../support/apps.js';

/** A PostgreSQL cluster of this test's own, so it can be restarted without touching the machine's. */
export interface OwnPostgres {
  /** Superuser URL of the `postgres` database. */
  adminUrl: string;
  /** Fast shutdown: open sessions are terminated, as in a restart for an upgrade or a failover. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data directory. */
  start(): Promise<void>;
  /** Stops it and deletes its data. */
  close(): Promise<void>;
}

export async function startOwnPostgres(): Promise<OwnPostgres> {
  // Not under a mkdtemp parent: that is private to root, and postgres may run as its own user.
  const dataDir = join(tmpdir(), `rp-chaos-pg-${randomBytes(6).toString('hex')}`);
  const port = await freePort();
  const password = randomBytes(12).toString('hex');
  const log: string[] = [];
  // As root, from a copy of the binaries the `postgres` user can reach wherever the checkout is.
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    // Kept across stop() and start(): that is the point.
    persistent: true,
    // PostgreSQL refuses to run as root; the library then runs it as a `postgres` OS user.
    createPostgresUser: runsAsRoot(),
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=${dataDir}`],
    onLog: (message) => {
      log.push(String(message));
      if (log.length > 40) log.shift();
    },
    onError: (message) => log.push(String(message)),
  });
  try {
    await server.initialise();
    await server.start();
  } catch (error) {
    await rm(dataDir, { recursive: true, force: true });
    throw new Error(`own PostgreSQL did not start: ${String(error)}\n${log.join('')}`);
  }
  let running = true;
  return {
    adminUrl: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    async stop() {
      await server.stop();
      running = false;
    },
    async start() {
      await server.start();
      running = true;
    },
    async close() {
      if (running) await server.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
