import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Platform } from './delivery.js';
import type { RejectReason, Responder } from './respond.js';

const ONE_MINUTE_MS = 60_000;

/**
 * Answers a request whose signature or token did not verify: 401, or 429 once the client
 * address has failed more than the limit within a minute.
 *
 * Only failures are counted, and a request that verifies is never limited: GitHub does not
 * retry a delivery that failed, so a limit on valid webhooks would lose events, whereas a sender
 * that keeps failing verification is either misconfigured or guessing secrets. Verification
 * still runs for every request, so a forge sharing an address with such a sender (behind the
 * same proxy, say) keeps getting through.
 */
export type RefuseCredentials = (
  request: FastifyRequest,
  reply: FastifyReply,
  platform: Platform,
  reason: Extract<RejectReason, 'missing_signature' | 'bad_signature' | 'missing_token' | 'bad_token'>,
  message: string,
) => Promise<FastifyReply>;

/** Registers @fastify/rate-limit on `app` without limiting any route by itself. */
export function registerRateLimitPlugin(app: FastifyInstance): void {
  app.register(rateLimit, { global: false });
}

/** For a scope inside `app` after registerRateLimitPlugin; `perMinute` 0 = never 429. */
export function createCredentialRefusal(
  scope: FastifyInstance,
  responder: Responder,
  perMinute: number,
): RefuseCredentials {
  const countFailure =
    perMinute === 0 ? undefined : scope.createRateLimit({ max: perMinute, timeWindow: ONE_MINUTE_MS });
  return async (request, reply, platform, reason, message) => {
    const counted = await countFailure?.(request);
    if (counted !== undefined && !counted.isAllowed && counted.isExceeded) {
      reply.header('retry-after', String(counted.ttlInSeconds));
      return responder.reject(
        reply,
        platform,
        429,
        'too_many_failures',
        `too many requests that failed verification from this address; retry in ${counted.ttlInSeconds} s`,
      );
    }
    return responder.reject(reply, platform, 401, reason, message);
  };
}
