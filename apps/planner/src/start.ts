import type { AddressInfo } from 'node:net';
import { type Config, requireSetting } from '@runner-planner/config';
import { Database, migrate } from '@runner-planner/database';
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { buildPlanner, type PlannerOptions } from './app.js';

export interface StartPlannerOptions {
  /** Interface to listen on; all of them by default. */
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
  const db = await Database.connect(databaseUrl, { staleAfterMs: config.pressureStaleAfterMs });

  let app: FastifyInstance | undefined;
  try {
    app = buildPlanner({
      config,
      db,
      ...(options.registry === undefined ? {} : { registry: options.registry }),
      ...(options.logger === undefined ? {} : { logger: options.logger }),
      ...(options.dashboard === undefined ? {} : { dashboard: options.dashboard }),
    });
    await app.listen({ host: options.host ?? '0.0.0.0', port: config.plannerPort });
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

function baseUrl(address: AddressInfo): string {
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}
