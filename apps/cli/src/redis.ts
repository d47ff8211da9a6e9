import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CliError } from './errors.js';
import { freePort } from './ports.js';

export interface ResolvedRedis {
  url: string;
  /** Whether this process started the redis-server. */
  started: boolean;
  /** Stops the redis-server this process started; nothing for a Redis it found. */
  stop(): Promise<void>;
}

export const LOCAL_REDIS_URL = 'redis://127.0.0.1:6379';

export async function pingRedis(url: string, timeoutMs = 1_500): Promise<boolean> {
  return (await redisProblem(url, timeoutMs)) === undefined;
}

/** Why the Redis at `url` does not answer PING, or undefined when it does. */
export async function redisProblem(url: string, timeoutMs = 1_500): Promise<string | undefined> {
  // Loaded here, not at the top: `--help` must not load the queue package (lazy-modules.test.ts).
  const { redisConnection } = await import('@runner-planner/queue');
  const redis = redisConnection(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    sentinelRetryStrategy: () => null,
    enableOfflineQueue: false,
  });
  let lastError: Error | undefined;
  redis.on('error', (error: Error) => {
    lastError = error;
  });
  try {
    await redis.connect();
    const answer = await redis.ping();
    return answer === 'PONG' ? undefined : `PING answered ${answer}`;
  } catch (error) {
    // ioredis rejects with "Connection is closed." after the 'error' event that says why.
    return errorText(lastError ?? error);
  } finally {
    redis.disconnect();
  }
}

/** An error's message; Node's AggregateError (every address of a host refused) has none of its own. */
export function errorText(error: unknown): string {
  const { message, code, errors } = (error ?? {}) as { message?: string; code?: string; errors?: unknown[] };
  if (message) return message;
  if (errors?.[0] !== undefined) return errorText(errors[0]);
  return code ?? String(error);
}

/** The local Redis if it answers, else a `redis-server` from PATH with append-only persistence under `.data/redis`. */
export async function resolveRedis(
  dataDir: string,
  say: (line: string) => void,
  {
    localUrl = LOCAL_REDIS_URL,
    reservedPorts,
  }: { localUrl?: string; reservedPorts?: ReadonlySet<number> } = {},
): Promise<ResolvedRedis> {
  if (await pingRedis(localUrl)) {
    say(`using the Redis on ${localUrl}`);
    return { url: localUrl, started: false, stop: async () => {} };
  }
  const dir = join(dataDir, 'redis');
  await mkdir(dir, { recursive: true });
  const port = await freePort(reservedPorts);
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess;
  try {
    child = await spawnRedis(dir, port);
  } catch {
    throw new CliError(
      'no Redis answers on 127.0.0.1:6379 and redis-server is not on PATH: install Redis (apt install redis-server, brew install redis) or set REDIS_URL to a Redis you have',
    );
  }
  for (let waited = 0; !(await pingRedis(url, 500)); waited += 100) {
    if (child.exitCode !== null || waited > 10_000) {
      child.kill('SIGKILL');
      throw new CliError(
        `redis-server did not start on port ${port} (exit code ${child.exitCode}, data in ${dir}): set REDIS_URL to a Redis you have`,
      );
    }
    await sleep(100);
  }
  say(`started redis-server on ${url} (append-only data in ${dir})`);
  return {
    url,
    started: true,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM'); // redis-server saves and exits on SIGTERM
      await exited;
    },
  };
}

function spawnRedis(dir: string, port: number): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    // Its own process group, so a Ctrl-C reaches the CLI, which stops Redis last.
    const child = spawn(
      'redis-server',
      ['--appendonly', 'yes', '--dir', dir, '--port', String(port), '--bind', '127.0.0.1', '--save', ''],
      { stdio: 'ignore', detached: true },
    );
    child.once('error', reject);
    child.once('spawn', () => resolve(child));
  });
}
