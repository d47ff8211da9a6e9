import { type Config, pinoOptions, requireSetting } from '@runner-planner/config';
import type { Database } from '@runner-planner/database';
import { observationOf } from '@runner-planner/http-metrics';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { Registry } from 'prom-client';
import { bearerToken, createAuthenticator } from './auth.js';
import { trackConnections } from './connections.js';
import { registerDashboard } from './dashboard.js';
import { createPlannerMetrics } from './metrics.js';
import { PressureHub } from './pressure-hub.js';
import { registerRateLimit } from './rate-limit.js';
import { HttpError, refuseOtherMethods, sendJson, sendText } from './respond.js';
import { flavorRoutes } from './routes/flavors.js';
import { jobRoutes } from './routes/jobs.js';
import { pressureRoutes } from './routes/pressure.js';
import { tokenRoutes } from './routes/tokens.js';
import { sameSecret } from './secret.js';
import { StreamRegistry } from './stream-registry.js';

export interface PlannerOptions {
  config: Config;
  /** The planner does not close it: whoever connected it does (startPlanner does). */
  db: Database;
  /** Where metrics are registered; a fresh registry by default. */
  registry?: Registry;
  /** Fastify's `logger` option; by default pino at `config.logLevel`. Credentials are redacted either way. */
  logger?: FastifyServerOptions['logger'];
  /** Mount the queue dashboard at /admin/queues (default true; it connects to Redis). */
  dashboard?: boolean;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The hub every pressure stream of this app is fed by; `pressureHub.size` = streams open. */
    pressureHub: PressureHub;
    /** Who holds which pressure stream: caps and revocation. */
    pressureStreams: StreamRegistry;
  }
}

/** Never in a log line: API tokens travel in `Authorization`. */
const REDACTED_HEADERS = ['req.headers.authorization', 'res.headers["set-cookie"]'];

/**
 * Probes and scrapes would drown the request log, and are not rate-limited: an orchestrator
 * that is refused its health check restarts a healthy planner.
 */
const PROBE_ROUTE = { logLevel: 'warn', config: { rateLimit: false } } as const;

/**
 * The planner's HTTP app (planner v1 API, pressure streams, /metrics, /admin/queues), ready for
 * `inject()` or `listen()`. Closing it ends every open pressure stream first.
 */
export function buildPlanner(options: PlannerOptions): FastifyInstance {
  const { config, db } = options;
  const adminToken = requireSetting(
    config.adminToken,
    'ADMIN_TOKEN',
    'the planner API and the queue dashboard are managed with it',
  );
  const heartbeatMs = config.pressureHeartbeatSeconds * 1000;

  const app = Fastify({ logger: loggerOptions(options.logger, config) });
  const hub = new PressureHub({
    db,
    refreshMs: heartbeatMs,
    onError: (err) => app.log.warn({ err }, 'pressure streams: reading pressure failed, retrying'),
  });
  const streams = new StreamRegistry({
    db,
    perToken: config.pressureStreamsPerToken,
    total: config.pressureStreamsMax,
    onError: (err) => app.log.warn({ err }, 'pressure streams: checking tokens failed'),
  });
  const metrics = createPlannerMetrics({
    db,
    redisUrl: config.redisUrl,
    prefix: config.queuePrefix,
    streams: () => hub.size,
    cacheMs: config.metricsCacheMs,
    log: app.log,
    ...(options.registry === undefined ? {} : { registry: options.registry }),
  });
  const auth = createAuthenticator({ adminToken, db });

  app.decorate('pressureHub', hub);
  app.decorate('pressureStreams', streams);
  app.decorateRequest('principal', null);
  app.decorateRequest('pressureStream', false);

  app.addHook('onResponse', async (request, reply) => {
    metrics.observeHttpServer(observationOf(request, reply));
    // A stream's duration is how long a client listened, not how fast the planner answered.
    if (request.pressureStream) return;
    metrics.httpRequestDuration.observe(
      {
        // The route pattern, not the URL: unknown paths must not create a series each.
        route: request.routeOptions.url ?? 'unmatched',
        method: request.method,
        status_code: String(reply.statusCode),
      },
      reply.elapsedTime / 1000,
    );
  });
  // Streams never finish on their own: end them so the server can close, and drop the
  // connections with nothing in flight (requests in flight still finish).
  const connections = trackConnections(app.server);
  app.addHook('preClose', async () => {
    await hub.close();
    await streams.close();
    connections.closeUnused();
  });
  app.addHook('onClose', async () => {
    await metrics.close();
  });

  app.setErrorHandler<FastifyError>((error, request, reply) => {
    if (error instanceof HttpError) return sendText(reply, error.statusCode, error.message);
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) return sendText(reply, status, error.message);
    request.log.error({ err: error }, 'request failed');
    return sendText(reply, 500, 'internal error');
  });

  // Go's ServeMux answer, which clients of the original may match on.
  app.setNotFoundHandler((_request, reply) => sendText(reply, 404, '404 page not found'));

  registerRateLimit(app, config.plannerRateLimit);

  app.get('/health', PROBE_ROUTE, async (_request, reply) => sendJson(reply, 200, { status: 'ok' }));
  refuseOtherMethods(app, '/health', ['GET']);
  // With METRICS_TOKEN: only a scrape presenting it, and it sees every series. Without: open,
  // and nothing that names a flavor (the admin-only flavor list must not leak through it).
  const { metricsToken } = config;
  if (metricsToken === undefined) {
    app.log.info('METRICS_TOKEN is not set: /metrics leaves out the per-flavor series');
  }
  app.get('/metrics', PROBE_ROUTE, async (request, reply) => {
    if (metricsToken !== undefined) {
      const presented = bearerToken(request.headers.authorization);
      if (presented === undefined || !sameSecret(presented, metricsToken)) {
        return sendText(reply.header('www-authenticate', 'Bearer'), 401, 'unauthorized');
      }
    }
    return reply.type(metrics.registry.contentType).send(await metrics.expose(metricsToken !== undefined));
  });

  app.register(async (api) => {
    // Every API body is read as JSON whatever its content type (the original did not look at
    // it); the routes parse it themselves to answer `invalid payload: …` like the original.
    api.removeAllContentTypeParsers();
    api.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, body));
    await api.register(flavorRoutes, { db, auth });
    await api.register(pressureRoutes, {
      db,
      auth,
      hub,
      streams,
      heartbeatMs,
      maxAgeMs: config.pressureStreamMaxAgeMs,
      perToken: config.pressureStreamsPerToken,
      total: config.pressureStreamsMax,
    });
    await api.register(tokenRoutes, { db, auth, streams });
    await api.register(jobRoutes, { db, auth });
  });

  if (options.dashboard ?? true) {
    app.register(async (scope) => {
      const dashboard = await registerDashboard(scope, {
        redisUrl: config.redisUrl,
        prefix: config.queuePrefix,
        adminToken,
      });
      scope.addHook('onClose', async () => {
        await dashboard.close();
      });
    });
  }

  return app;
}

function loggerOptions(logger: PlannerOptions['logger'], config: Config): FastifyServerOptions['logger'] {
  if (logger === false) return false;
  // A caller's own options (a test's stream) replace the pretty transport, which pino refuses
  // next to a stream; the level and the redaction stay.
  const base = typeof logger === 'object' ? { level: config.logLevel, ...logger } : pinoOptions(config);
  return { ...base, redact: REDACTED_HEADERS };
}
