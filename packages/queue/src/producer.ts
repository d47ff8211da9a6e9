import { createHash } from 'node:crypto';
import { type Log, lineLog, logErrors, redactUrl } from '@runner-planner/process';
import { Queue } from 'bullmq';
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
 * KEYS[1]: the body's replay key, KEYS[2]: the job's hash; ARGV[1]: the job id, ARGV[2]: the
 * window in ms. Claims the body for this job unless another job has it, in one round trip with
 * the job's existence check. Answers the job id that has the body, and whether this job exists.
 */
const CLAIM_BODY = `
local owner = redis.call('GET', KEYS[1])
if not owner then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  owner = ARGV[1]
end
return {owner, redis.call('EXISTS', KEYS[2])}
`;

type ClaimBody = (
  replayKey: string,
  jobKey: string,
  jobId: string,
  windowMs: number,
) => Promise<[string, number]>;

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
  connection.defineCommand('runnerPlannerClaimBody', { numberOfKeys: 2, lua: CLAIM_BODY });
  const claimBody = (
    connection as unknown as { runnerPlannerClaimBody: ClaimBody }
  ).runnerPlannerClaimBody.bind(connection);

  /** Whether the job does not exist yet; undefined when its body is another delivery's (a replay). */
  async function isNew(
    jobId: string,
    envelope: Envelope,
    bodyDigest: string | undefined,
  ): Promise<boolean | undefined> {
    const jobKey = queue.toKey(jobId);
    if (replayWindowMs <= 0) return (await connection.exists(jobKey)) === 0;
    const digest = bodyDigest ?? createHash('sha256').update(envelope.body).digest('base64url');
    const replayKey = queue.toKey(`replay:${envelope.platform}:${digest}`);
    const [owner, exists] = await claimBody(replayKey, jobKey, jobId, replayWindowMs);
    if (owner !== jobId) return undefined;
    return exists === 0;
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
    // A new delivery costs one round trip before the add (the replay claim and an EXISTS on the
    // job's hash). `getJobState` scans the queue's lists and grows with their length, so it is
    // kept for the rare repeated delivery.
    const fresh = await isNew(jobId, envelope, bodyDigest);
    if (fresh === undefined) return 'duplicate';
    if (fresh) {
      await queue.add(envelope.event, envelope, { jobId });
      return 'enqueued';
    }
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
