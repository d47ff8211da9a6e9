import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/index.js';
import { problemsOf } from './problems.js';

describe('HTTP server limits and webhook replay settings', () => {
  it('reads the gateway and planner timeouts, caps, body limit and replay window', () => {
    const config = loadConfig({
      GATEWAY_REQUEST_TIMEOUT: '2s',
      GATEWAY_HEADERS_TIMEOUT: '500ms',
      GATEWAY_IDLE_TIMEOUT: '3',
      GATEWAY_KEEP_ALIVE_TIMEOUT: '65s',
      GATEWAY_MAX_CONNECTIONS: '64',
      GATEWAY_GITHUB_BODY_LIMIT: '256kb',
      GATEWAY_REPLAY_WINDOW: '6h',
      PLANNER_REQUEST_TIMEOUT: '30s',
      PLANNER_HEADERS_TIMEOUT: '20s',
      PLANNER_IDLE_TIMEOUT: '2m',
      PLANNER_KEEP_ALIVE_TIMEOUT: '5s',
      PLANNER_MAX_CONNECTIONS: '5000',
    });
    expect(config.gatewayServer).toEqual({
      requestTimeoutMs: 2_000,
      headersTimeoutMs: 500,
      idleTimeoutMs: 3_000,
      keepAliveTimeoutMs: 65_000,
      maxConnections: 64,
      // A quarter of the headers timeout, so a slow request outlives its timeout by little.
      timeoutCheckIntervalMs: 125,
    });
    expect(config.plannerServer).toMatchObject({
      requestTimeoutMs: 30_000,
      headersTimeoutMs: 20_000,
      idleTimeoutMs: 120_000,
      keepAliveTimeoutMs: 5_000,
      maxConnections: 5_000,
      timeoutCheckIntervalMs: 1_000,
    });
    expect(config.gatewayGitHubBodyLimitBytes).toBe(256 * 1024);
    expect(config.gatewayReplayWindowMs).toBe(6 * 3_600_000);
    expect(loadConfig({ GATEWAY_REPLAY_WINDOW: '0' }).gatewayReplayWindowMs).toBe(0);
    expect(loadConfig({ GATEWAY_REPLICA_ACKS: '2', GATEWAY_REPLICA_TIMEOUT: '250ms' })).toMatchObject({
      gatewayReplicaAcks: 2,
      gatewayReplicaTimeoutMs: 250,
    });
    expect(() => loadConfig({ GATEWAY_REPLICA_ACKS: '-1' })).toThrow(
      'GATEWAY_REPLICA_ACKS: must be 0 (off) or more',
    );
  });

  it('refuses a headers timeout longer than the request timeout, which Node would refuse at start', () => {
    expect(problemsOf({ GATEWAY_REQUEST_TIMEOUT: '2s', GATEWAY_HEADERS_TIMEOUT: '3s' })).toContain(
      'GATEWAY_HEADERS_TIMEOUT: must not be longer than GATEWAY_REQUEST_TIMEOUT',
    );
    expect(problemsOf({ PLANNER_HEADERS_TIMEOUT: '11s' })).toContain(
      'PLANNER_HEADERS_TIMEOUT: must not be longer than PLANNER_REQUEST_TIMEOUT',
    );
  });

  it('refuses a planner idle timeout that would cut pressure streams between heartbeats', () => {
    expect(problemsOf({ PLANNER_IDLE_TIMEOUT: '30s' })).toContain(
      'PLANNER_IDLE_TIMEOUT: must be longer than PRESSURE_HEARTBEAT_SECONDS (30 s)',
    );
    expect(
      loadConfig({ PLANNER_IDLE_TIMEOUT: '20s', PRESSURE_HEARTBEAT_SECONDS: '10' }).plannerServer
        .idleTimeoutMs,
    ).toBe(20_000);
  });

  it('refuses zero, negative and malformed values', () => {
    const problems = problemsOf({
      GATEWAY_REQUEST_TIMEOUT: '0',
      GATEWAY_MAX_CONNECTIONS: '0',
      GATEWAY_REPLAY_WINDOW: 'soon',
      GATEWAY_GITHUB_BODY_LIMIT: 'huge',
      PLANNER_MAX_CONNECTIONS: '-1',
    });
    expect(problems).toContain('GATEWAY_REQUEST_TIMEOUT: must be a duration');
    expect(problems).toContain('GATEWAY_MAX_CONNECTIONS: must be greater than 0');
    expect(problems).toContain('GATEWAY_REPLAY_WINDOW: must be a duration');
    expect(problems).toContain('GATEWAY_GITHUB_BODY_LIMIT: must be a size');
    expect(problems).toContain('PLANNER_MAX_CONNECTIONS: must be greater than 0');
  });
});
