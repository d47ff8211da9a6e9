import { describe, expect, it } from 'vitest';
import { call, flavor, usePlanner } from './support.js';

const fixture = usePlanner('planner_http');

describe('health, errors and metrics', () => {
  it('GET /health answers {"status":"ok"} without a token', async () => {
    const response = await call(fixture.app, 'GET', '/health', { token: null });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ok' });
  });

  it("answers unknown paths like Go's ServeMux", async () => {
    const response = await call(fixture.app, 'GET', '/api/v2/flavors');
    expect(response.statusCode).toBe(404);
    expect(response.body).toBe('404 page not found\n');
    expect(response.headers['content-type']).toBe('text/plain; charset=utf-8');
  });

  it('mounts the queue dashboard behind its own auth', async () => {
    const response = await call(fixture.app, 'GET', '/admin/queues', { token: null });
    expect(response.statusCode).toBe(401);
  });

  it('times requests by route pattern on /metrics', async () => {
    await fixture.db.addFlavor(flavor('large'));
    await call(fixture.app, 'GET', '/api/v1/flavors/large');
    await call(fixture.app, 'GET', '/api/v1/flavors/missing');
    const response = await call(fixture.app, 'GET', '/metrics', { token: null });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/plain/);
    const text = response.body;
    expect(text).toMatch(
      /runner_planner_planner_request_duration_seconds_count\{route="\/api\/v1\/flavors\/:name",method="GET",status_code="200"\} 1/,
    );
    expect(text).toMatch(
      /runner_planner_planner_request_duration_seconds_count\{route="\/api\/v1\/flavors\/:name",method="GET",status_code="404"\} 1/,
    );
    expect(text).not.toContain('route="/api/v1/flavors/large"');
    expect(text).toMatch(/runner_planner_pressure_streams 0/);
  });
});
