import { Webhooks } from '@octokit/webhooks';
import type { Config } from '@runner-planner/config';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { RefuseCredentials } from './auth-failure-limit.js';
import { webhookBodyLimit } from './body-limit.js';
import { buildEnvelope, header, rawBody, sha256Hex } from './delivery.js';
import type { GatewayMetrics } from './metrics.js';
import { keepRawBody } from './raw-body.js';
import type { Responder } from './respond.js';

export const GITHUB_WEBHOOK_PATH = '/webhooks/github';
const SIGNATURE_HEADER = 'x-hub-signature-256';

export interface WebhookRouteOptions {
  config: Config;
  metrics: GatewayMetrics;
  responder: Responder;
  /** 401 for a credential that does not verify (429 when an address keeps failing). */
  refuse: RefuseCredentials;
}

/** `POST /webhooks/github`: verifies `X-Hub-Signature-256` and queues `workflow_job` deliveries. */
export async function githubWebhookRoute(app: FastifyInstance, options: WebhookRouteOptions): Promise<void> {
  const { config, metrics, responder, refuse } = options;
  // One verifier per secret: during a rotation GitHub signs with the new one while the old
  // one is still configured here.
  const verifiers = config.githubWebhookSecrets.map((secret) => new Webhooks({ secret }));
  keepRawBody(app);

  // Checked before the body is read, so unauthenticated senders cannot make us buffer it.
  async function checkSignatureHeader(request: FastifyRequest, reply: FastifyReply) {
    if (verifiers.length === 0) {
      return responder.reject(
        reply,
        'github',
        404,
        'route_disabled',
        'GitHub webhooks are off: set GITHUB_WEBHOOK_SECRET to the secret of the GitHub webhook',
      );
    }
    const signature = header(request, SIGNATURE_HEADER);
    if (signature === undefined) {
      return refuse(
        request,
        reply,
        'github',
        'missing_signature',
        'missing X-Hub-Signature-256 header: give the GitHub webhook a secret',
      );
    }
    if (!signature.startsWith('sha256=')) {
      return refuse(
        request,
        reply,
        'github',
        'bad_signature',
        'X-Hub-Signature-256 must start with "sha256="',
      );
    }
  }

  app.post(
    GITHUB_WEBHOOK_PATH,
    { bodyLimit: webhookBodyLimit(config, 'github').bytes, onRequest: checkSignatureHeader },
    async (request, reply) => {
      const body = rawBody(request);
      const signature = header(request, SIGNATURE_HEADER) ?? '';
      if (!(await matchesAnySecret(verifiers, body, signature))) {
        return refuse(
          request,
          reply,
          'github',
          'bad_signature',
          'X-Hub-Signature-256 does not match the body for any configured secret',
        );
      }

      const event = header(request, 'x-github-event') ?? '';
      metrics.received.inc({ platform: 'github', event });
      if (event === 'ping') {
        return reply.code(200).send({ result: 'pong' });
      }
      if (event !== 'workflow_job') {
        return responder.ignore(reply, 'github', event);
      }
      const deliveryId = header(request, 'x-github-delivery') ?? sha256Hex(body);
      // The verified signature names the body (an HMAC of it), so the replay check hashes nothing.
      return responder.enqueue(
        reply,
        buildEnvelope(request, 'github', event, deliveryId, body),
        signature.slice('sha256='.length),
      );
    },
  );
}

async function matchesAnySecret(verifiers: Webhooks[], body: string, signature: string): Promise<boolean> {
  for (const verifier of verifiers) {
    try {
      if (await verifier.verify(body, signature)) return true;
    } catch {
      // @octokit/webhooks throws instead of answering false for an empty body.
    }
  }
  return false;
}
