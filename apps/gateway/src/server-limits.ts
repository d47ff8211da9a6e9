import type { HttpServerLimits } from '@runner-planner/config';
import type { FastifyInstance } from 'fastify';

/**
 * Fastify's options for how long a connection may take (GATEWAY_REQUEST_TIMEOUT and the rest):
 * without them a client that sends a signature-shaped header and half a body keeps its socket and
 * its buffered bytes as long as it likes.
 */
export function serverTimeouts(limits: HttpServerLimits) {
  return {
    requestTimeout: limits.requestTimeoutMs,
    connectionTimeout: limits.idleTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    // No maxRequestsPerSocket: past it Node answers 503 on the same connection instead of closing
    // it, so a sender that ignores `Connection: close` would see failed deliveries (202 of 50,035
    // in the benchmark); the timeouts already bound what a long-lived connection can hold.
    // Node checks the headers timeout against the request timeout when the server is made,
    // before Fastify sets the latter: both go to the constructor.
    http: {
      requestTimeout: limits.requestTimeoutMs,
      headersTimeout: limits.headersTimeoutMs,
      connectionsCheckingInterval: limits.timeoutCheckIntervalMs,
    },
  };
}

/** Connections past the cap are closed as they arrive, so buffered bodies are bounded by cap × body limit. */
export function capConnections(app: FastifyInstance, limits: HttpServerLimits): void {
  app.server.maxConnections = limits.maxConnections;
}
