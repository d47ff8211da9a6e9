import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { lstat, mkdir, readFile, readlink, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  loadEmbeddedPostgres,
  makeTraversable,
  ROOT_STATE_DIR,
  runsAsRoot,
} from '@runner-planner/embedded-postgres';
import { alreadyRunning, isAlive, readRuntime } from './data-dir.js';
import { CliError } from './errors.js';
import { freePort, preferredPort } from './ports.js';

export interface RunningPostgres {
  url: string;
  port: number;
  /** The cluster's data directory. */
  dir: string;
  stop(): Promise<void>;
}

const USER = 'postgres';
const LOG_TAIL = 30;
type Say = (line: string) => void;

/**
 * The data directory of the embedded cluster of the `.data` directory `dataDir`.
 *
 * Not as root: `.data/postgres`. As root, PostgreSQL runs as the `postgres` user, which cannot
 * enter a checkout under /root (mode 700) or any private directory, and the user's directories
 * must keep their permissions. So root's cluster lives in
 * `/var/lib/runner-planner/clusters/<hash of the .data path>/postgres`, and `.data/postgres` is
 * a symlink to it, to show where. The same directory always finds the same cluster; a cluster
 * an earlier version made inside `.data/postgres` keeps being used there.
 *
 * `freshSecrets`: `.data/secrets.json` was just generated, so a cluster found outside `.data`
 * belongs to a `.data` that was deleted, and its password is gone with it: it is replaced.
 */
export async function clusterDir(dataDir: string, freshSecrets: boolean, say: Say): Promise<string> {
  const inPlace = join(dataDir, 'postgres');
  if (!runsAsRoot()) return inPlace;
  const link = await lstat(inPlace).catch(() => undefined);
  if (link?.isDirectory() && existsSync(join(inPlace, 'PG_VERSION'))) return inPlace;

  const hash = createHash('sha256')
    .update(await realpath(dataDir))
    .digest('hex')
    .slice(0, 16);
  const home = join(ROOT_STATE_DIR, 'clusters', hash);
  const dir = join(home, 'postgres');
  await makeTraversable(ROOT_STATE_DIR);
  await makeTraversable(join(ROOT_STATE_DIR, 'clusters'), 0o711);
  await makeTraversable(home);
  if (freshSecrets && existsSync(dir)) {
    say(`replacing the embedded PostgreSQL cluster in ${dir}: its password went with a deleted .data/`);
    await rm(dir, { recursive: true, force: true });
  }
  // Which checkout a cluster belongs to, for whoever cleans up /var/lib/runner-planner.
  await writeFile(join(home, 'data-dir'), `${dataDir}\n`);
  if (link === undefined || !link.isSymbolicLink() || (await readlink(inPlace)) !== dir) {
    // A directory here without PG_VERSION is a half-done initdb of an earlier version.
    await rm(inPlace, { recursive: true, force: true });
    await symlink(dir, inPlace);
  }
  return dir;
}

/**
 * Starts the embedded PostgreSQL kept in `dir`, initialising it on first use. A
 * postmaster.pid left by a killed run is checked and cleaned instead of failing cryptically.
 */
export async function startEmbeddedPostgres(
  dataDir: string,
  dir: string,
  password: string,
  say: Say,
  reservedPorts: ReadonlySet<number>,
): Promise<RunningPostgres> {
  await cleanStalePid(dataDir, dir, say);

  // The library registers SIGINT/SIGTERM handlers that stop PostgreSQL and exit at once; the
  // CLI stops the apps first and PostgreSQL last, so those handlers are removed again.
  const before = {
    SIGINT: new Set(process.listeners('SIGINT')),
    SIGTERM: new Set(process.listeners('SIGTERM')),
  };
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    for (const listener of process.listeners(signal)) {
      if (!before[signal].has(listener)) process.removeListener(signal, listener);
    }
  }

  const initialised = existsSync(join(dir, 'PG_VERSION'));
  let failure: { port: number; reason: string; log: string[] } | undefined;
  for (let attempt = 1; attempt <= 3; attempt++) {
    const port = attempt === 1 ? await preferredPort(5432, reservedPorts) : await freePort(reservedPorts);
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
      createPostgresUser: runsAsRoot(),
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
        dir,
        stop: () => server.stop(),
      };
    } catch (error) {
      const reason = error instanceof Error ? error.message : 'postgres exited before it was ready';
      failure = { port, reason, log };
      if (!initialised && attempt === 1 && !existsSync(join(dir, 'PG_VERSION'))) break;
    }
  }
  throw await postgresFailure(dataDir, dir, failure);
}

/** One line for the terminal; the server's own output goes to `.data/postgres-failure.log`. */
async function postgresFailure(
  dataDir: string,
  dir: string,
  failure: { port: number; reason: string; log: string[] } | undefined,
): Promise<Error> {
  const lines = [failure?.reason ?? '', ...(failure?.log ?? [])].flatMap((text) => text.split('\n'));
  if (lines.some((line) => /No space left on device/i.test(line))) {
    return new CliError(
      `no space left on device for the embedded PostgreSQL in ${dir}: free some space and start again`,
    );
  }
  const logFile = join(dataDir, 'postgres-failure.log');
  await writeFile(logFile, `${lines.join('\n')}\n`).catch(() => {});
  const cause =
    lines.find((line) => /\b(FATAL|PANIC|error):/.test(line))?.replace(/^\[STDERR\]\s*/, '') ??
    lines[0] ??
    'postgres exited before it was ready';
  return new CliError(
    `embedded PostgreSQL in ${dir} did not start on port ${failure?.port ?? '?'}: ${cause.trim()} (its output: ${logFile})`,
  );
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
      throw new CliError(alreadyRunning(runtime.pid));
    }
    say(`stopping PostgreSQL pid ${pid} left running by a killed runner-planner start`);
    process.kill(pid, 'SIGINT');
    for (let waited = 0; isAlive(pid); waited += 100) {
      if (waited === 10_000) process.kill(pid, 'SIGQUIT');
      if (waited > 20_000)
        throw new CliError(
          `PostgreSQL pid ${pid} (data in ${dir}) does not stop: kill it by hand (kill -9 ${pid})`,
        );
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
