import { createHash } from 'node:crypto';
import type { Envelope } from '@runner-planner/queue';
import type { FastifyRequest } from 'fastify';

export type Platform = Envelope['platform'];

/**
 * Headers the worker may need to interpret a delivery. Signature and token headers are left
 * out: the queue is no place for credentials.
 */
const DELIVERY_HEADERS = [
  'content-type',
  'user-agent',
  'x-github-event',
  'x-github-delivery',
  'x-github-hook-id',
  'x-github-hook-installation-target-id',
  'x-github-hook-installation-target-type',
  'x-gitlab-event',
  'x-gitlab-event-uuid',
  'x-gitlab-instance',
  'idempotency-key',
  'webhook-id',
  'webhook-timestamp',
] as const;

/** A header's value, or undefined when absent or empty. */
export function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  const text = Array.isArray(value) ? value[0] : value;
  return text === undefined || text === '' ? undefined : text;
}

/** The body exactly as received (the route's content-type parser keeps it as a string). */
export function rawBody(request: FastifyRequest): string {
  return typeof request.body === 'string' ? request.body : '';
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export function buildEnvelope(
  request: FastifyRequest,
  platform: Platform,
  event: string,
  deliveryId: string,
  body: string,
): Envelope {
  const headers: Record<string, string> = {};
  for (const name of DELIVERY_HEADERS) {
    const value = header(request, name);
    if (value !== undefined) headers[name] = value;
  }
  return { platform, deliveryId, event, receivedAt: new Date().toISOString(), headers, body };
}
