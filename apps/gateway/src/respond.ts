import {
  type Envelope,
  NotReplicatedError,
  QueueUnavailableError,
  type WebhookProducer,
} from '@runner-planner/queue';
import type { FastifyReply } from 'fastify';
import type { Platform } from './delivery.js';
import type { GatewayMetrics } from './metrics.js';

export type RejectReason =
  | 'route_disabled'
  | 'missing_signature'
  | 'bad_signature'
  | 'missing_token'
  | 'bad_token'
  | 'too_many_failures'
  | 'too_large'
  | 'bad_request'
  | 'queue_unavailable'
  | 'not_replicated';

export interface Responder {
  reject(
    reply: FastifyReply,
    platform: Platform,
    status: number,
    reason: RejectReason,
    message: string,
  ): FastifyReply;
  ignore(reply: FastifyReply, platform: Platform, event: string): FastifyReply;
  /** `bodyDigest`: what identifies the body for the replay check (see WebhookProducer). */
  enqueue(reply: FastifyReply, envelope: Envelope, bodyDigest?: string): Promise<FastifyReply>;
}

export function createResponder(producer: WebhookProducer, metrics: GatewayMetrics): Responder {
  return {
    reject(reply, platform, status, reason, message) {
      metrics.rejected.inc({ platform, reason });
      reply.log.warn({ platform, reason, statusCode: status }, `webhook rejected: ${message}`);
      return reply.code(status).send({ error: message });
    },

    ignore(reply, platform, event) {
      metrics.ignored.inc({ platform, event });
      const reason = event === '' ? 'the request has no event header' : `event ${event} is not handled`;
      reply.log.debug({ platform, event }, `webhook ignored: ${reason}`);
      return reply.code(202).send({ result: 'ignored', reason });
    },

    async enqueue(reply, envelope, bodyDigest) {
      const { platform, event, deliveryId } = envelope;
      let result: Awaited<ReturnType<WebhookProducer['enqueue']>>;
      try {
        result = await producer.enqueue(envelope, bodyDigest === undefined ? {} : { bodyDigest });
      } catch (err) {
        // A 5xx makes the forge record a failed delivery, which can be redelivered (by hand, or
        // by the worker's GitHub redelivery job) once Redis is back.
        const context = { platform, event, deliveryId };
        if (err instanceof NotReplicatedError) {
          // Queued on the primary all the same: a redelivery is a duplicate of it, not a second job.
          metrics.rejected.inc({ platform, reason: 'not_replicated' });
          reply.log.warn(context, `webhook not acknowledged: ${err.message} (GATEWAY_REPLICA_ACKS)`);
          return reply.code(503).send({ error: 'queued but not yet replicated, retry later' });
        }
        metrics.rejected.inc({ platform, reason: 'queue_unavailable' });
        if (err instanceof QueueUnavailableError) {
          reply.log.warn(context, `webhook not queued: ${err.message}`);
        } else {
          reply.log.error({ ...context, err }, 'webhook not queued: queue call failed');
        }
        return reply.code(503).send({ error: 'queue unavailable, retry later' });
      }
      metrics.enqueued.inc({ platform, event, result });
      reply.log.info({ platform, event, deliveryId, result }, 'webhook queued');
      return reply.code(202).send({ result });
    },
  };
}
