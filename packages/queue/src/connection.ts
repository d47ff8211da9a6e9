import { type ClusterTarget, clusterTarget, sentinelTarget } from '@runner-planner/config';
import type { ConnectionOptions, QueueBase } from 'bullmq';
import { Cluster, Redis, type RedisOptions } from 'ioredis';

/** A connection to REDIS_URL: one server (directly or through Sentinel), or a Cluster. */
export type RedisClient = Redis | Cluster;

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

/**
 * A Cluster client: `options` apply to the connection of each node, except the offline queue,
 * which the Cluster keeps itself. BullMQ's keys share one hash slot (the `{…}` of QUEUE_PREFIX),
 * so every command of a queue goes to the one master that owns it.
 */
function clusterConnection(target: ClusterTarget, options: RedisOptions): Cluster {
  const { enableOfflineQueue, ...perNode } = options;
  return new Cluster(target.nodes, {
    clusterRetryStrategy: retryStrategy,
    ...(enableOfflineQueue === undefined ? {} : { enableOfflineQueue }),
    redisOptions: {
      ...(target.username === undefined ? {} : { username: target.username }),
      ...(target.password === undefined ? {} : { password: target.password }),
      ...(target.tls ? { tls: {} } : {}),
      ...perNode,
    },
  });
}

/** A connection to REDIS_URL (Sentinel and Cluster included) with exactly `options`. */
export function redisConnection(redisUrl: string, options: RedisOptions): RedisClient {
  const cluster = clusterTarget(redisUrl);
  if (cluster !== undefined) return clusterConnection(cluster, options);
  const { url, ...rest } = redisOptions(redisUrl, options);
  return url === undefined ? new Redis(rest) : new Redis(url, rest);
}

/**
 * For producers (the gateway): commands fail at once while Redis is unreachable, so a webhook
 * gets a 503 the forge will redeliver instead of waiting in memory and being lost on a crash.
 */
export function producerConnection(redisUrl: string, options: RedisOptions = {}): RedisClient {
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
export function workerConnection(redisUrl: string, options: RedisOptions = {}): RedisClient {
  return redisConnection(redisUrl, { ...WORKER_OPTIONS, ...options });
}

/** What a BullMQ Worker or Queue connects with, and how to close what it does not close itself. */
export interface WorkerLink {
  connection: ConnectionOptions;
  /** After the BullMQ objects given `connection` have closed. */
  close(): Promise<void>;
}

/**
 * Worker-style connection settings for BullMQ Workers and Queues. BullMQ treats an ioredis
 * instance it is handed as shared and never closes it, so for one server it gets options and
 * opens and closes its connections itself. A Cluster can only be handed over as a client (BullMQ
 * duplicates it for blocking commands and closes the duplicates); `close` quits it.
 */
export function workerLink(redisUrl: string, options: RedisOptions = {}): WorkerLink {
  if (clusterTarget(redisUrl) === undefined) {
    return { connection: redisOptions(redisUrl, { ...WORKER_OPTIONS, ...options }), close: async () => {} };
  }
  const cluster = workerConnection(redisUrl, options);
  return {
    connection: cluster,
    close: async () => {
      await cluster.quit().catch(() => cluster.disconnect());
    },
  };
}

/**
 * Resolves true once the connection is ready, or false after `timeoutMs` (default 1 s): a caller
 * waits for a connection being (re)established, not for a Redis that is down.
 */
export function whenConnected(connection: RedisClient, timeoutMs = 1_000): Promise<boolean> {
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
  connection: RedisClient,
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
