import type { FastifyReply, FastifyRequest } from 'fastify';
import { Histogram, type Registry } from 'prom-client';

/** One answered request, as an app's `onResponse` hook sees it. */
export interface HttpServerObservation {
  /** The matched route pattern (`/api/v1/flavors/:name`); undefined when no route matched. */
  route: string | undefined;
  method: string;
  statusCode: number;
  seconds: number;
}

/** What a Fastify `onResponse` hook knows of the request it answered. */
export function observationOf(request: FastifyRequest, reply: FastifyReply): HttpServerObservation {
  return {
    route: request.routeOptions.url,
    method: request.method,
    statusCode: reply.statusCode,
    seconds: reply.elapsedTime / 1000,
  };
}

export interface HttpServerMetric {
  observe(observation: HttpServerObservation): void;
}

type Label = 'http_route' | 'http_request_method' | 'http_response_status_code';

const NAME = 'http_server_request_duration_seconds';

/** HTTP methods as OpenTelemetry names them (semantic conventions, `http.request.method`). */
const HTTP_METHODS: ReadonlySet<string> = new Set([
  'CONNECT',
  'DELETE',
  'GET',
  'HEAD',
  'OPTIONS',
  'PATCH',
  'POST',
  'PUT',
  'TRACE',
]);

/** Bucket boundaries OpenTelemetry advises for `http.server.request.duration`. */
const OTEL_HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

/**
 * A request method as a label value: a method a client made up would otherwise make a series of
 * its own, so anything not in the closed set is `other` (`_OTHER` in OpenTelemetry's labels).
 */
export function httpMethod(method: string, other = 'other'): string {
  return HTTP_METHODS.has(method) ? method : other;
}

/**
 * A Fastify route pattern as an OpenTelemetry `http.route`, with the original planner's and
 * gateway's Go `{name}` placeholders (its dashboard filters on `/api/v1/flavors/{name}/pressure`);
 * empty when no route matched, which that dashboard shows as `unknown`.
 */
export function httpRoute(pattern: string | undefined): string {
  if (pattern === undefined) return '';
  return pattern.replace(/:(\w+)/g, '{$1}');
}

/**
 * `http.server.request.duration` of the OpenTelemetry semantic conventions, as Prometheus names
 * it, on `registry`. Apps that share a registry (the all-in-one start) share the histogram.
 */
export function httpServerMetric(registry: Registry): HttpServerMetric {
  const histogram =
    (registry.getSingleMetric(NAME) as Histogram<Label> | undefined) ??
    new Histogram<Label>({
      name: NAME,
      help: 'Duration of HTTP server requests (OpenTelemetry semantic conventions).',
      labelNames: ['http_route', 'http_request_method', 'http_response_status_code'],
      buckets: OTEL_HTTP_BUCKETS,
      registers: [registry],
    });
  return {
    observe({ route, method, statusCode, seconds }) {
      histogram.observe(
        {
          http_route: httpRoute(route),
          http_request_method: httpMethod(method, '_OTHER'),
          http_response_status_code: String(statusCode),
        },
        seconds,
      );
    },
  };
}
