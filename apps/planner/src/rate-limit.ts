import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance } from 'fastify';

/**
 * Limits every planner route (API and dashboard) to `perMinute` requests per client address;
 * 0 = no limit. Over the limit: 429 with Retry-After. Routes with `config: { rateLimit: false }`
 * (/health, /metrics) are left alone.
 *
 * Keyed by address rather than by credential, and checked before the credential is: checking
 * a token costs a database lookup, which is what a flood of made-up tokens would otherwise
 * cost, and a client changing tokens would get a fresh allowance each time. Behind a reverse
 * proxy every client has the proxy's address, so raise the limit there (or set 0 and limit at
 * the proxy).
 */
export function registerRateLimit(app: FastifyInstance, perMinute: number): void {
  if (perMinute === 0) return;
  app.register(rateLimit, { global: false });
  app.after(() => {
    const limit = app.rateLimit({ max: perMinute, timeWindow: 60_000 });
    // An application-wide hook runs before the routes' own onRequest hooks (the auth check);
    // the plugin's per-route hook would run after them.
    app.addHook('onRequest', async function (request, reply) {
      if (request.routeOptions.config.rateLimit === false) return;
      await limit.call(this, request, reply);
    });
  });
}
