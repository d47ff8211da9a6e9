import { type Config, pinoOptions } from '@runner-planner/config';
import { observationOf } from '@runner-planner/http-metrics';
import type { WebhookProducer } from '@runner-planner/queue';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { Registry } from 'prom-client';
import { createCredentialRefusal, registerRateLimitPlugin } from './auth-failure-limit.js';
import { webhookBodyLimit } from './body-limit.js';
import type { Platform } from './delivery.js';
import { GITHUB_WEBHOOK_PATH, githubWebhookRoute } from './github.js';
import { GITLAB_WEBHOOK_PATH, gitlabWebhookRoute } from './gitlab.js';
import { createGatewayMetrics } from './metrics.js';
import { createResponder } from './respond.js';
import { capConnections, serverTimeouts } from './server-limits.js';

export interface GatewayOptions {
  config: Config;
  producer: WebhookProducer;
  /** Where metrics are registered; a fresh registry by default. */
  registry?: Registry;
  /** Fastify's `logger` option; by default pino at `config.logLevel`. Secrets are redacted either way. */
  logger?: FastifyServerOptions['logger'];
}

/** Credentials that must never reach a log line, should a serializer ever include headers. */
const REDACTED_HEADERS = [
  'req.headers.authorization',
  'req.headers["x-hub-signature-256"]',
  'req.headers["x-hub-signature"]',
  'req.headers["x-gitlab-token"]',
  'req.headers["webhook-signature"]',
];

/** Probes and scrapes would drown the request log. */
const QUIET_ROUTE = { logLevel: 'warn' } as const;

/** The gateway's HTTP app, ready for `inject()` or `listen()`. */
export function buildGateway(options: GatewayOptions): FastifyInstance {
  const { config, producer } = options;
  const registry = options.registry ?? new Registry();
  const metrics = createGatewayMetrics(registry);
  const responder = createResponder(producer, metrics);

  const app = Fastify({
    logger: loggerOptions(options.logger, config),
    ...serverTimeouts(config.gatewayServer),
  });
  capConnections(app, config.gatewayServer);

  app.addHook('onResponse', async (request, reply) => {
    metrics.observeRequest(observationOf(request, reply));
  });

  app.setErrorHandler<FastifyError>((error, request, reply) => {
    const platform = webhookPlatform(request.routeOptions.url);
    const status = error.statusCode ?? 500;
    if (status === 413 && platform !== undefined) {
      const limit = webhookBodyLimit(config, platform);
      return responder.reject(
        reply,
        platform,
        413,
        'too_large',
        `body is larger than ${limit.bytes} bytes (${limit.variable})`,
      );
    }
    if (status >= 400 && status < 500) {
      if (platform !== undefined) {
        return responder.reject(reply, platform, status, 'bad_request', error.message);
      }
      return reply.code(status).send({ error: error.message });
    }
    request.log.error({ err: error }, 'request failed');
    return reply.code(500).send({ error: 'internal error' });
  });

  app.setNotFoundHandler((request, reply) => {
    return reply.code(404).send({ error: `no route ${request.method} ${request.url}` });
  });

  app.get('/health', QUIET_ROUTE, async () => ({ status: 'ok' }));

  app.get('/ready', QUIET_ROUTE, async (_request, reply) => {
    if (await producer.isReady()) return { status: 'ready' };
    return reply.code(503).send({ status: 'unavailable', error: 'Redis is not reachable' });
  });

  app.get('/metrics', QUIET_ROUTE, async (_request, reply) => {
    return reply.type(registry.contentType).send(await registry.metrics());
  });

  registerRateLimitPlugin(app);
  app.register(async (webhooks) => {
    // One count of failed verifications per address, shared by both routes.
    const refuse = createCredentialRefusal(webhooks, responder, config.gatewayAuthFailureLimit);
    const routeOptions = { config, metrics, responder, refuse };
    await webhooks.register(githubWebhookRoute, routeOptions);
    await webhooks.register(gitlabWebhookRoute, routeOptions);
  });

  return app;
}

function loggerOptions(logger: GatewayOptions['logger'], config: Config): FastifyServerOptions['logger'] {
  if (logger === false) return false;
  // A caller's own options (a test's stream) replace the pretty transport, which pino refuses
  // next to a stream; the level and the redaction stay.
  const base = typeof logger === 'object' ? { level: config.logLevel, ...logger } : pinoOptions(config);
  return { ...base, redact: REDACTED_HEADERS };
}

function webhookPlatform(route: string | undefined): Platform | undefined {
  if (route === GITHUB_WEBHOOK_PATH) return 'github';
  if (route === GITLAB_WEBHOOK_PATH) return 'gitlab';
  return undefined;
}
