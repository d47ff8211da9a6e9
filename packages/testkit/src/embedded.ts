import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadEmbeddedPostgres, runsAsRoot } from '@runner-planner/embedded-postgres';

export interface EmbeddedPostgres {
  url: string;
  port: number;
  dataDir: string;
  stop(): Promise<void>;
}

const USER = 'postgres';
const START_ATTEMPTS = 3;
const LOG_TAIL_LINES = 40;

/**
 * Starts a throwaway PostgreSQL cluster on a free port with its data under the OS temp dir.
 * `stop()` shuts it down and deletes the data.
 */
export async function startEmbeddedPostgres(): Promise<EmbeddedPostgres> {
  let lastError: unknown;
  // The free port is only free when probed; another process can take it before postgres binds.
  for (let attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
    try {
      return await startOnce(await findFreePort());
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}

async function startOnce(port: number): Promise<EmbeddedPostgres> {
  // Loaded lazily: the module resolves its binaries and installs process exit hooks on load. As
  // root it comes from a copy the `postgres` user can reach, wherever the checkout is.
  const EmbeddedPostgresServer = await loadEmbeddedPostgres();
  const dataDir = join(tmpdir(), `rp-test-pg-${randomBytes(6).toString('hex')}`);
  const password = randomBytes(12).toString('hex');
  const log: string[] = [];
  const remember = (message: unknown) => {
    log.push(String(message).trimEnd());
    if (log.length > LOG_TAIL_LINES) log.shift();
  };
  const server = new EmbeddedPostgresServer({
    databaseDir: dataDir,
    port,
    user: USER,
    password,
    authMethod: 'scram-sha-256',
    persistent: false,
    // PostgreSQL refuses to run as root; the library then runs it as a `postgres` OS user.
    createPostgresUser: runsAsRoot(),
    initdbFlags: ['--no-sync'],
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      // The default socket directory may not exist or may belong to a system server.
      '-c',
      `unix_socket_directories=${dataDir}`,
      // Test data is disposable: durability only costs time.
      '-c',
      'fsync=off',
      '-c',
      'synchronous_commit=off',
      '-c',
      'full_page_writes=off',
    ],
    onLog: remember,
    onError: remember,
  });

  try {
    await server.initialise();
    await server.start();
  } catch (error) {
    // No stop(): the library waits for an exit event that a postgres which already died never sends.
    await rm(dataDir, { recursive: true, force: true });
    const reason = error instanceof Error ? error.message : 'postgres exited before it was ready';
    throw new Error(`embedded PostgreSQL failed to start on port ${port}: ${reason}\n${log.join('\n')}`);
  }

  let stopped: Promise<void> | undefined;
  return {
    url: `postgres://${USER}:${password}@127.0.0.1:${port}/postgres`,
    port,
    dataDir,
    stop: () => {
      stopped ??= server.stop();
      return stopped;
    },
  };
}

export function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.unref();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => (port ? resolve(port) : reject(new Error('could not find a free port'))));
    });
  });
}
