import { z } from 'zod';

/**
 * A received webhook as it travels through the queue: the body exactly as received (the
 * signature was computed over these bytes) and the platform's delivery headers.
 */
export const envelopeSchema = z.object({
  platform: z.enum(['github', 'gitlab']),
  deliveryId: z.string().min(1),
  /** `X-GitHub-Event` or `X-Gitlab-Event`. */
  event: z.string(),
  /** ISO 8601 time the gateway accepted the request. */
  receivedAt: z.iso.datetime({ offset: true }),
  headers: z.record(z.string(), z.string()),
  body: z.string(),
});

export type Envelope = z.infer<typeof envelopeSchema>;

/** Ids may not contain ":" (BullMQ's key separator) nor be integers. */
export function queueJobId(platform: Envelope['platform'], deliveryId: string): string {
  return `${platform}-${deliveryId.replaceAll(':', '_')}`;
}
