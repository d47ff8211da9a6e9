import { Redis, type RedisOptions } from 'ioredis';

/** Reconnect forever, backing off to at most 2 s between attempts. */
const retryStrategy = (attempt: number) => Math.min(attempt * 100, 2_000);

/**
 * For producers (the gateway): commands fail at once while Redis is unreachable, so a webhook
 * gets a 503 the forge will redeliver instead of waiting in memory and being lost on a crash.
 */
export function producerConnection(redisUrl: string, options: RedisOptions = {}): Redis {
  return new Redis(redisUrl, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    retryStrategy,
    ...options,
  });
}

/** For workers: blocking commands must never time out, and commands wait for a reconnect. */
export function workerConnection(redisUrl: string, options: RedisOptions = {}): Redis {
  return new Redis(redisUrl, { maxRetriesPerRequest: null, retryStrategy, ...options });
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
