import { ConfigError } from '@runner-planner/config';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Webhook } from 'standardwebhooks';
import { webhookBodyLimit } from './body-limit.js';
import { buildEnvelope, header, rawBody, sha256Hex } from './delivery.js';
import type { WebhookRouteOptions } from './github.js';
import { keepRawBody } from './raw-body.js';
import { matchesAnyToken, tokenDigest } from './token-match.js';

export const GITLAB_WEBHOOK_PATH = '/webhooks/gitlab';

/** `POST /webhooks/gitlab`: checks `X-Gitlab-Token` (and Standard Webhooks signatures) and queues job events. */
export async function gitlabWebhookRoute(app: FastifyInstance, options: WebhookRouteOptions): Promise<void> {
  const { config, metrics, responder, refuse } = options;
  const tokenDigests = config.gitlabWebhookTokens.map(tokenDigest);
  const signers = signingVerifiers(config.gitlabWebhookSigningTokens);
  keepRawBody(app);

  // Everything here works on headers only, so it runs before the body is read.
  async function checkToken(request: FastifyRequest, reply: FastifyReply) {
    if (config.gitlabToken === undefined) {
      return responder.reject(
        reply,
        'gitlab',
        404,
        'route_disabled',
        'GitLab webhooks are off: set GITLAB_TOKEN (and GITLAB_URL) so the worker can resolve job tags',
      );
    }
    if (tokenDigests.length === 0) {
      return responder.reject(
        reply,
        'gitlab',
        404,
        'route_disabled',
        'GitLab webhooks are off: set GITLAB_WEBHOOK_TOKEN to the secret token of the GitLab webhook',
      );
    }
    const token = header(request, 'x-gitlab-token');
    if (token === undefined) {
      return refuse(
        request,
        reply,
        'gitlab',
        'missing_token',
        'missing X-Gitlab-Token header: give the GitLab webhook a secret token',
      );
    }
    if (!matchesAnyToken(tokenDigests, token)) {
      return refuse(request, reply, 'gitlab', 'bad_token', 'X-Gitlab-Token matches no configured token');
    }
    // With signing keys configured the signature is the credential: a request without it would
    // otherwise pass on the static token alone, which a replay carries as well.
    if (signers.length > 0 && signatureHeaders(request) === undefined) {
      return refuse(
        request,
        reply,
        'gitlab',
        'missing_signature',
        'missing webhook-id, webhook-timestamp or webhook-signature header: GITLAB_WEBHOOK_SIGNING_TOKEN is set, so GitLab webhooks must be signed',
      );
    }
  }

  app.post(
    GITLAB_WEBHOOK_PATH,
    { bodyLimit: webhookBodyLimit(config, 'gitlab').bytes, onRequest: checkToken },
    async (request, reply) => {
      const body = rawBody(request);
      const signature = signers.length > 0 ? signatureHeaders(request) : undefined;
      if (signature !== undefined) {
        // Also refuses a timestamp more than 5 minutes from now (the library's tolerance), so a
        // captured request cannot be replayed later.
        const problem = signatureProblem(signers, body, signature);
        if (problem !== undefined) {
          return refuse(request, reply, 'gitlab', 'bad_signature', `webhook-signature rejected: ${problem}`);
        }
      }

      const event = header(request, 'x-gitlab-event') ?? '';
      metrics.received.inc({ platform: 'gitlab', event });
      if (event !== 'Job Hook') {
        return responder.ignore(reply, 'gitlab', event);
      }
      // A signed request is identified by its signed message id (GitLab sets it to the
      // Idempotency-Key, which is not signed), so a replay cannot pass as a new delivery.
      const deliveryId =
        signature?.['webhook-id'] ??
        header(request, 'idempotency-key') ??
        header(request, 'webhook-id') ??
        header(request, 'x-gitlab-event-uuid') ??
        sha256Hex(body);
      return responder.enqueue(reply, buildEnvelope(request, 'gitlab', event, deliveryId, body));
    },
  );
}

function signingVerifiers(tokens: string[]): Webhook[] {
  return tokens.map((token) => {
    try {
      return new Webhook(token);
    } catch {
      throw new ConfigError([
        'GITLAB_WEBHOOK_SIGNING_TOKEN: must be a GitLab webhook signing token such as whsec_<base64>',
      ]);
    }
  });
}

interface SignatureHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

function signatureHeaders(request: FastifyRequest): SignatureHeaders | undefined {
  const id = header(request, 'webhook-id');
  const timestamp = header(request, 'webhook-timestamp');
  const signature = header(request, 'webhook-signature');
  if (id === undefined || timestamp === undefined || signature === undefined) return undefined;
  return { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': signature };
}

/** Undefined when any signing token verifies the request, else why the last one did not. */
function signatureProblem(signers: Webhook[], body: string, headers: SignatureHeaders): string | undefined {
  let problem = 'no signing token matches';
  for (const signer of signers) {
    try {
      // The gateway never parses bodies: a signed malformed payload is the worker's to dead-letter.
      signer.verify(body, { ...headers }, { jsonParse: false });
      return undefined;
    } catch (err) {
      problem = err instanceof Error ? err.message : problem;
    }
  }
  return problem;
}
