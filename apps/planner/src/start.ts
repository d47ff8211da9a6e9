import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Config, type HttpServerLimits, requireSetting } from '@runner-planner/config';
import { Database, migrate } from '@runner-planner/database';
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { buildPlanner, type PlannerOptions } from './app.js';

export interface StartPlannerOptions {
  /** Interface to listen on; LISTEN_HOST, else all of them. */
  host?: string;
  registry?: Registry;
  logger?: PlannerOptions['logger'];
  /** Mount the queue dashboard (default true). */
  dashboard?: boolean;
}

export interface RunningPlanner {
  app: FastifyInstance;
  /** The address actually bound (useful with `plannerPort: 0`). */
  url: string;
  /** Ends the open pressure streams, stops taking requests, then closes metrics, dashboard and database. */
  close(): Promise<void>;
}

/** Migrates the database and starts the planner on `config.plannerPort`. */
export async function startPlanner(
  config: Config,
  options: StartPlannerOptions = {},
): Promise<RunningPlanner> {
  const databaseUrl = requireSetting(
    config.databaseUrl,
    'DATABASE_URL',
    'the planner keeps flavors, jobs and tokens in PostgreSQL',
  );
  requireSetting(
    config.adminToken,
    'ADMIN_TOKEN',
    'the planner API and the queue dashboard are managed with it',
  );
  await migrate(databaseUrl);
  const db = await Database.connect(databaseUrl, {
    staleAfterMs: config.pressureStaleAfterMs,
    listenUrl: config.databaseListenUrl,
    preparedStatements: config.databasePreparedStatements,
  });

  let app: FastifyInstance | undefined;
  try {
    app = buildPlanner({
      config,
      db,
      ...(options.registry === undefined ? {} : { registry: options.registry }),
      ...(options.logger === undefined ? {} : { logger: options.logger }),
      ...(options.dashboard === undefined ? {} : { dashboard: options.dashboard }),
    });
    limitServer(app.server, config.plannerServer);
    await app.listen({ host: options.host ?? config.listenHost ?? '0.0.0.0', port: config.plannerPort });
  } catch (err) {
    await app?.close().catch(() => {});
    await db.close();
    throw err;
  }

  const running = app;
  const url = baseUrl(running.server.address() as AddressInfo);
  running.log.info(
    { url, dashboard: `${url}/admin/queues`, metrics: `${url}/metrics` },
    `planner ready: API at ${url}/api/v1`,
  );

  let closing: Promise<void> | undefined;
  return {
    app: running,
    url,
    close() {
      closing ??= running.close().finally(() => db.close());
      return closing;
    },
  };
}

/**
 * PLANNER_REQUEST_TIMEOUT and the rest, set on the server before it listens (Node reads the
 * checking interval then). The request and headers timeouts end when the request has arrived, so
 * a pressure stream, a long answer to a short GET, outlives them; its heartbeats keep it from
 * the idle timeout, which config checks is longer than PRESSURE_HEARTBEAT_SECONDS.
 */
function limitServer(server: Server, limits: HttpServerLimits): void {
  server.requestTimeout = limits.requestTimeoutMs;
  server.headersTimeout = limits.headersTimeoutMs;
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  // No maxRequestsPerSocket: past it Node answers 503 instead of closing the connection.
  server.maxConnections = limits.maxConnections;
  server.setTimeout(limits.idleTimeoutMs);
  (server as Server & { connectionsCheckingInterval: number }).connectionsCheckingInterval =
    limits.timeoutCheckIntervalMs;
}

function baseUrl(address: AddressInfo): string {
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}
