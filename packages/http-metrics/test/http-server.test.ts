import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { httpMethod, httpRoute, httpServerMetric } from '../src/index.js';

describe('httpServerMetric', () => {
  it('observes by OpenTelemetry route, method and status, with made-up methods as _OTHER', async () => {
    const registry = new Registry();
    const metric = httpServerMetric(registry);
    metric.observe({
      route: '/api/v1/flavors/:name/pressure',
      method: 'GET',
      statusCode: 200,
      seconds: 0.003,
    });
    metric.observe({ route: undefined, method: 'BREW', statusCode: 404, seconds: 0.001 });

    const text = await registry.metrics();
    expect(text).toContain(
      'http_server_request_duration_seconds_count{http_route="/api/v1/flavors/{name}/pressure",http_request_method="GET",http_response_status_code="200"} 1',
    );
    expect(text).toContain(
      'http_server_request_duration_seconds_count{http_route="",http_request_method="_OTHER",http_response_status_code="404"} 1',
    );
    expect(text).toContain('http_server_request_duration_seconds_bucket{le="0.005",http_route=');
    expect(text).not.toContain('BREW');
  });

  it('shares one histogram among the apps of one registry', async () => {
    const registry = new Registry();
    httpServerMetric(registry).observe({ route: '/a', method: 'GET', statusCode: 200, seconds: 0.1 });
    httpServerMetric(registry).observe({ route: '/a', method: 'GET', statusCode: 200, seconds: 0.1 });
    expect(await registry.metrics()).toContain(
      'http_server_request_duration_seconds_count{http_route="/a",http_request_method="GET",http_response_status_code="200"} 2',
    );
  });
});

describe('labels', () => {
  it.each([
    ['/webhook/github', '/webhook/github'],
    ['/api/v1/flavors/:name', '/api/v1/flavors/{name}'],
    ['/api/v1/jobs/:platform/:id', '/api/v1/jobs/{platform}/{id}'],
    [undefined, ''],
  ])('route %s is %s', (pattern, route) => {
    expect(httpRoute(pattern)).toBe(route);
  });

  it('keeps the nine methods and names any other by the fallback', () => {
    for (const method of ['CONNECT', 'DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT', 'TRACE']) {
      expect(httpMethod(method)).toBe(method);
    }
    expect(httpMethod('get')).toBe('other');
    expect(httpMethod('PROPFIND', '_OTHER')).toBe('_OTHER');
  });
});
