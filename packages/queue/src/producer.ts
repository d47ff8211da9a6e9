import { createHash } from 'node:crypto';
import { type Log, lineLog, logErrors, redactUrl } from '@runner-planner/process';
import { type JobsOptions, Queue } from 'bullmq';
import { Cluster, type Redis } from 'ioredis';
import {
  closeQueuesAndConnection,
  producerConnection,
  type RedisClient,
  whenConnected,
} from './connection.js';
import { type Envelope, queueJobId } from './envelope.js';
import { DEFAULT_QUEUE_PREFIX, WEBHOOK_QUEUE, webhookJobOptions } from './policy.js';

/**
 * - `enqueued`: new delivery, queued.
 * - `duplicate`: the same delivery is already queued, running or done, or the same body came
 *   within the replay window under another delivery id: nothing to do.
 * - `requeued`: the same delivery had failed for good; it is processed again with this body.
 */
export type EnqueueResult = 'enqueued' | 'duplicate' | 'requeued';

export interface WebhookProducer {
  /**
   * `bodyDigest` names the body for the replay check: a digest the caller already has, such as
   * the verified HMAC of a GitHub delivery; by default the body's SHA-256 is computed.
   */
  enqueue(envelope: Envelope, options?: { bodyDigest?: string }): Promise<EnqueueResult>;
  /** Whether Redis answers right now. */
  isReady(): Promise<boolean>;
  close(): Promise<void>;
}

/** Redis is not connected: the caller should answer 503 so the forge redelivers later. */
export class QueueUnavailableError extends Error {
  override readonly name = 'QueueUnavailableError';
  constructor() {
    super('queue unavailable: Redis is not connected');
  }
}

export interface ProducerOptions {
  redisUrl: string;
  prefix?: string;
  /**
   * A body queued less than this many milliseconds ago is not queued again under another
   * delivery id (the delivery id of a GitHub webhook is not signed, its body is): the request is
   * answered `duplicate`. A redelivery under the same id is unaffected. 0 or absent: no check.
   */
  replayWindowMs?: number;
  /**
   * Replicas that must have the queue job before `enqueue` resolves (Redis `WAIT`), so that a
   * failover to a replica cannot lose a webhook already answered 202. 0 or absent: no wait.
   */
  replicas?: number;
  /** How long to wait for them (default 1 s); fewer in time rejects with NotReplicatedError. */
  replicaTimeoutMs?: number;
  /** Where Redis connection problems are logged (default: a line on stderr). */
  log?: Log;
}

/**
 * The job was written to the primary but fewer replicas than asked for confirmed it in time: a
 * failover now could lose it. The caller answers 5xx so the sender delivers again (the job id
 * makes the second delivery a duplicate, not a second job).
 */
export class NotReplicatedError extends Error {
  override readonly name = 'NotReplicatedError';
  constructor(
    readonly acknowledged: number,
    readonly wanted: number,
  ) {
    super(`queued on the primary, but ${acknowledged} of ${wanted} replicas acknowledged it in time`);
  }
}

/**
 * The master that holds `key`'s hash slot in a Cluster, as the client routes to it now (after a
 * failover, the promoted replica). The slot is asked of Redis once (`CLUSTER KEYSLOT`): every key
 * of the queue shares it through QUEUE_PREFIX's `{…}`.
 */
function clusterSlotOf(connection: RedisClient, key: string) {
  let slot: Promise<number> | undefined;
  return {
    async master(): Promise<Redis> {
      if (!(connection instanceof Cluster)) return connection;
      slot ??= (connection.cluster('KEYSLOT', key) as Promise<number>).catch((error: unknown) => {
        slot = undefined;
        throw error;
      });
      const [nodeKey] = connection.slots[await slot] ?? [];
      const master = connection
        .nodes('master')
        .find((node) => `${node.options.host}:${node.options.port}` === nodeKey);
      if (master === undefined) throw new QueueUnavailableError();
      return master;
    },
  };
}

export function createWebhookProducer(options: ProducerOptions): WebhookProducer {
  const connection: RedisClient = producerConnection(options.redisUrl);
  const queue = new Queue<Envelope>(WEBHOOK_QUEUE, {
    connection,
    prefix: options.prefix ?? DEFAULT_QUEUE_PREFIX,
    defaultJobOptions: webhookJobOptions,
  });
  // Errors surface on each call too (a 503 the forge redelivers); an outage is logged once, not
  // at every reconnect attempt, and an error event without a listener would end the process.
  logErrors(
    [connection, queue],
    options.log ?? lineLog('runner-planner'),
    'webhook producer: Redis',
    {
      queue: WEBHOOK_QUEUE,
      redis: redactUrl(options.redisUrl),
    },
    { recoveredOn: 'ready' },
  );
  const replayWindowMs = options.replayWindowMs ?? 0;

  /**
   * BullMQ's deduplication is the replay check: the first job added with a body's digest holds
   * it for the window (even once done), and an add of the same body under another job id returns
   * that job's id instead of adding one. A redelivery under the same id never reaches it: BullMQ
   * answers an existing job id first.
   */
  function replayCheck(envelope: Envelope, bodyDigest: string | undefined): JobsOptions {
    if (replayWindowMs <= 0) return {};
    const digest = bodyDigest ?? createHash('sha256').update(envelope.body).digest('base64url');
    return { deduplication: { id: `${envelope.platform}:${digest}`, ttl: replayWindowMs } };
  }

  /**
   * What Redis held before an add: whether the job existed, and which job had claimed the
   * body. Sent before the add on the same connection, so Redis answers it first, and the two
   * share one round trip.
   */
  async function lookBeforeAdd(jobId: string, options: JobsOptions) {
    const pipeline = connection.pipeline().exists(queue.toKey(jobId));
    const replayId = options.deduplication?.id;
    if (replayId !== undefined) pipeline.get(`${queue.keys.de}:${replayId}`);
    const answers = (await pipeline.exec()) ?? [];
    for (const [error] of answers) if (error) throw error;
    return { existed: answers[0]?.[1] !== 0, claimedBy: answers[1]?.[1] as string | null | undefined };
  }

  const replicas = options.replicas ?? 0;
  const replicaTimeoutMs = options.replicaTimeoutMs ?? 1_000;
  const queueSlot = clusterSlotOf(connection, queue.toKey(''));
  /** The result, once the replicas asked for have every write of this connection so far. */
  async function replicated<T>(result: T): Promise<T> {
    if (replicas <= 0) return result;
    // WAIT covers every write this connection made, a duplicate's earlier add included. In a
    // Cluster, "this connection" is the one to the master holding the queue's slot.
    const node = connection instanceof Cluster ? await queueSlot.master() : connection;
    const acknowledged = await node.wait(replicas, replicaTimeoutMs);
    if (acknowledged < replicas) throw new NotReplicatedError(acknowledged, replicas);
    return result;
  }

  async function enqueueOnPrimary(
    envelope: Envelope,
    bodyDigest: string | undefined,
  ): Promise<EnqueueResult> {
    // BullMQ would wait for the connection forever; a webhook sender must hear "no" instead.
    if (!(await whenConnected(connection))) throw new QueueUnavailableError();
    const jobId = queueJobId(envelope.platform, envelope.deliveryId);
    const options: JobsOptions = { jobId, ...replayCheck(envelope, bodyDigest) };
    const before = lookBeforeAdd(jobId, options);
    const added = await queue.add(envelope.event, envelope, options);
    const { existed, claimedBy } = await before;
    if (!existed) {
      if (added.id !== jobId) return 'duplicate';
      // This delivery claimed the body earlier and its job is gone since (trimmed after it
      // completed or failed): BullMQ matched the claim and added nothing. A redelivery is
      // someone asking for the event again, so the claim is dropped and the job added.
      if (claimedBy === jobId && options.deduplication !== undefined) {
        await queue.removeDeduplicationKey(options.deduplication.id);
        await queue.add(envelope.event, envelope, options);
      }
      return 'enqueued';
    }
    // `getJobState` scans the queue's lists and grows with their length: only for a repeat.
    const state = await queue.getJobState(jobId);
    if (state === 'failed') {
      const failed = await queue.getJob(jobId);
      if (failed) {
        await failed.updateData(envelope);
        await failed.retry('failed');
        return 'requeued';
      }
    } else if (state !== 'unknown') {
      return 'duplicate';
    }
    // Removed between the EXISTS and the state lookup (a retention trim): add it again.
    await queue.add(envelope.event, envelope, { jobId });
    return 'enqueued';
  }

  return {
    async enqueue(envelope, options = {}) {
      return replicated(await enqueueOnPrimary(envelope, options.bodyDigest));
    },
    async isReady() {
      if (!(await whenConnected(connection))) return false;
      try {
        return (await connection.ping()) === 'PONG';
      } catch {
        return false;
      }
    },
    async close() {
      await closeQueuesAndConnection([queue], connection);
    },
  };
}
