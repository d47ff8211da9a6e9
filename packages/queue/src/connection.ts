import { sentinelTarget } from '@runner-planner/config';
import type { QueueBase } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';

/** Reconnect forever, backing off to at most 2 s between attempts. */
const retryStrategy = (attempt: number) => Math.min(attempt * 100, 2_000);

/**
 * ioredis options for REDIS_URL: a `redis+sentinel://` URL becomes Sentinel options (ioredis asks
 * the Sentinels for the master and follows a failover); any other URL is passed as it is.
 */
function redisOptions(redisUrl: string, options: RedisOptions = {}): RedisOptions & { url?: string } {
  const sentinel = sentinelTarget(redisUrl);
  if (sentinel === undefined) return { url: redisUrl, ...options };
  return { ...sentinel, retryStrategy, sentinelRetryStrategy: retryStrategy, ...options };
}

/** A connection to REDIS_URL (Sentinel included) with exactly `options`. */
export function redisConnection(redisUrl: string, options: RedisOptions): Redis {
  const { url, ...rest } = redisOptions(redisUrl, options);
  return url === undefined ? new Redis(rest) : new Redis(url, rest);
}

/**
 * For producers (the gateway): commands fail at once while Redis is unreachable, so a webhook
 * gets a 503 the forge will redeliver instead of waiting in memory and being lost on a crash.
 */
export function producerConnection(redisUrl: string, options: RedisOptions = {}): Redis {
  return redisConnection(redisUrl, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    retryStrategy,
    ...options,
  });
}

/** For workers: blocking commands must never time out, and commands wait for a reconnect. */
const WORKER_OPTIONS: RedisOptions = { maxRetriesPerRequest: null, retryStrategy };

/** A worker-style connection the caller owns and must close. */
export function workerConnection(redisUrl: string, options: RedisOptions = {}): Redis {
  return redisConnection(redisUrl, { ...WORKER_OPTIONS, ...options });
}

/**
 * Worker-style options for a BullMQ Worker or Queue to open its own connections with. BullMQ
 * treats an ioredis instance it is handed as shared and never closes it, so a worker given one
 * would leave it open after `close()`; given options, it opens and closes its connections itself.
 */
export function workerConnectionOptions(redisUrl: string, options: RedisOptions = {}): RedisOptions {
  return redisOptions(redisUrl, { ...WORKER_OPTIONS, ...options });
}

/**
 * Resolves true once the connection is ready, or false after `timeoutMs` (default 1 s): a caller
 * waits for a connection being (re)established, not for a Redis that is down.
 */
export function whenConnected(connection: Redis, timeoutMs = 1_000): Promise<boolean> {
  if (connection.status === 'ready') return Promise.resolve(true);
  return new Promise((resolve) => {
    const onReady = () => {
      clearTimeout(timer);
      resolve(true);
    };
    const timer = setTimeout(() => {
      connection.off('ready', onReady);
      resolve(false);
    }, timeoutMs);
    timer.unref();
    connection.once('ready', onReady);
  });
}

/**
 * Closes BullMQ queues that share `connection`, then the connection, without failing commands
 * still in flight. A queue initialises asynchronously (it asks Redis for its version once
 * connected), and BullMQ leaves that request's failure unhandled when the shared connection is
 * closed under it, so the queues get up to `timeoutMs` to finish initialising first. Redis then
 * answers QUIT after every pending command, where a plain disconnect would fail them. A Redis
 * that does not answer within `timeoutMs`, or a connection already lost, is disconnected.
 */
export async function closeQueuesAndConnection(
  queues: readonly QueueBase[],
  connection: Redis,
  timeoutMs = 1_000,
): Promise<void> {
  // Once a connection has been lost nothing is in flight, and waiting would only delay the exit.
  const lost = () => ['reconnecting', 'close', 'end'].includes(connection.status);
  if (!lost()) {
    await within(Promise.allSettled(queues.map((queue) => queue.waitUntilReady())), timeoutMs);
  }
  await Promise.allSettled(queues.map((queue) => queue.close()));
  if (lost()) {
    connection.disconnect();
    return;
  }
  const quit = connection.quit().then(
    () => true,
    () => false,
  );
  if (!(await within(quit, timeoutMs))) connection.disconnect();
}

/** Resolves to the promise's value, or to false once `timeoutMs` have passed. */
async function within<T>(promise: Promise<T>, timeoutMs: number): Promise<T | false> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
