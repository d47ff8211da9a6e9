import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

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
