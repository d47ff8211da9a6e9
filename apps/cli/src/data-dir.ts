import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { CliError } from './errors.js';

/** Everything `runner-planner start` keeps between runs lives under `.data/` of the working directory. */
export function dataDir(cwd: string = process.cwd()): string {
  return resolve(cwd, '.data');
}

export interface Secrets {
  adminToken: string;
  githubWebhookSecret: string;
  gitlabWebhookToken: string;
  /** Password of the embedded PostgreSQL's `postgres` user. */
  postgresPassword: string;
}

const randomText = (bytes: number) => randomBytes(bytes).toString('base64url');

/** Reads `.data/secrets.json`, generating (once) whatever is missing; the file is mode 0600. */
export async function loadSecrets(dir: string): Promise<Secrets> {
  const file = join(dir, 'secrets.json');
  let stored: Partial<Secrets> = {};
  try {
    stored = JSON.parse(await readFile(file, 'utf8')) as Partial<Secrets>;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new Error(`cannot read ${file}: ${(error as Error).message}`);
    }
  }
  const secrets: Secrets = {
    // 15 random bytes are exactly 20 base64url characters.
    adminToken: stored.adminToken ?? `planner_v0_${randomText(15)}`,
    githubWebhookSecret: stored.githubWebhookSecret ?? randomText(24),
    gitlabWebhookToken: stored.gitlabWebhookToken ?? randomText(24),
    postgresPassword: stored.postgresPassword ?? randomText(18),
  };
  if (JSON.stringify(secrets) !== JSON.stringify(stored)) {
    await mkdir(dir, { recursive: true });
    await writeFile(file, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
  }
  await chmod(file, 0o600);
  return secrets;
}

/** Where a running `runner-planner start` can be reached; admin commands read it when the environment is silent. */
export interface Runtime {
  pid: number;
  databaseUrl: string;
  redisUrl: string;
  queuePrefix: string;
  gatewayUrl: string;
  plannerUrl: string;
}

const runtimeFile = (dir: string) => join(dir, 'runtime.json');

export async function writeRuntime(dir: string, runtime: Runtime): Promise<void> {
  await writeFile(runtimeFile(dir), `${JSON.stringify(runtime, null, 2)}\n`, { mode: 0o600 });
}

export async function removeRuntime(dir: string): Promise<void> {
  await rm(runtimeFile(dir), { force: true });
}

/** The runtime file of a `start` that is still alive, else undefined. */
export async function readRuntime(dir: string = dataDir()): Promise<Runtime | undefined> {
  try {
    const runtime = JSON.parse(await readFile(runtimeFile(dir), 'utf8')) as Runtime;
    return isAlive(runtime.pid) ? runtime : undefined;
  } catch {
    return undefined;
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export const alreadyRunning = (pid: number) =>
  `runner-planner start is already running in this directory (pid ${pid}): stop it first (Ctrl-C in its terminal, or kill ${pid})`;

/**
 * Refuses a `.data/` another user made. Not even root takes it over: files root wrote there
 * would lock its owner out, and as root the embedded PostgreSQL could not read the owner's cluster.
 */
export async function checkOwner(dir: string): Promise<void> {
  const found = await stat(dir).catch(() => undefined);
  const me = userInfo();
  if (found === undefined || found.uid === me.uid) return;
  const owner = userName(found.uid);
  throw new CliError(
    `${dir} belongs to user ${owner} (uid ${found.uid}), not to ${me.username}: run start as ${owner}, or remove ${dir} to start afresh`,
  );
}

function userName(uid: number): string {
  try {
    const name = execFileSync('id', ['-nu', String(uid)], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return name.trim() || String(uid);
  } catch {
    return String(uid);
  }
}

/**
 * Makes this process the one `start` of `dir` (`.data/start.pid`), from its first step: the
 * runtime file is only written once everything runs, and a second `start` during the first
 * one's start-up must not take the embedded PostgreSQL for an orphan and stop it. A file whose
 * process is gone (a killed start) is taken over. Resolves to the release function.
 */
export async function claimDataDir(dir: string): Promise<() => Promise<void>> {
  const file = join(dir, 'start.pid');
  const release = async () => {
    const holder = await readFile(file, 'utf8').catch(() => '');
    if (Number.parseInt(holder, 10) === process.pid) await rm(file, { force: true });
  };
  for (let attempt = 0; ; attempt++) {
    try {
      await writeFile(file, `${process.pid}\n`, { flag: 'wx' });
      return release;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt === 3) throw error;
    }
    const pid = Number.parseInt(await readFile(file, 'utf8').catch(() => ''), 10);
    if (pid > 0 && pid !== process.pid && isAlive(pid) && (await isStart(pid))) {
      throw new CliError(alreadyRunning(pid));
    }
    await rm(file, { force: true });
  }
}

/** Whether `pid` runs a `start` (a killed start's pid may since belong to anything). */
async function isStart(pid: number): Promise<boolean> {
  try {
    return (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').includes('start');
  } catch {
    // No /proc (macOS): trust the pid; where /proc exists but cannot be read, it is not ours.
    return process.platform !== 'linux';
  }
}
