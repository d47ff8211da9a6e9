import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { Cleanup } from '@runner-planner/bench-kit';
import { type BenchProcess, freePort, profileArgs, spawnNode, waitHealthy } from './processes.js';

export interface PlannerUnderTest {
  proc: BenchProcess;
  port: number;
  url: string;
}

/** An ADMIN_TOKEN: `planner_v0_` and 20 characters of base64url. */
export function newAdminToken(): string {
  return `planner_v0_${randomBytes(15).toString('base64url')}`;
}

export interface PlannerSettings {
  databaseUrl: string;
  adminToken: string;
  queuePrefix: string;
  heartbeatSeconds: number;
  logLevel: string;
}

/** The built planner (`node apps/planner/dist/main.js`) as its own process, listening on a free port. */
export async function startPlannerProcess(
  name: string,
  settings: PlannerSettings,
  cleanup: Cleanup,
): Promise<PlannerUnderTest> {
  const port = await freePort();
  const main = fileURLToPath(new URL('../dist/main.js', import.meta.url));
  const proc = spawnNode(
    name,
    [...profileArgs(), main],
    {
      manyFiles: true,
      env: {
        DATABASE_URL: settings.databaseUrl,
        ADMIN_TOKEN: settings.adminToken,
        PLANNER_PORT: String(port),
        REDIS_URL: process.env.REDIS_URL || 'redis://127.0.0.1:6379',
        QUEUE_PREFIX: settings.queuePrefix,
        PRESSURE_HEARTBEAT_SECONDS: String(settings.heartbeatSeconds),
        // A quiet stream lasts a heartbeat: the idle timeout must outlast it or the config is refused.
        PLANNER_IDLE_TIMEOUT: `${settings.heartbeatSeconds + 60}s`,
        LOG_LEVEL: settings.logLevel,
        // Thousands of streams and requests from this one address are the benchmark, not abuse.
        PLANNER_RATE_LIMIT: '0',
      },
    },
    cleanup,
  );
  const url = `http://127.0.0.1:${port}`;
  await waitHealthy(proc, `${url}/health`);
  return { proc, port, url };
}
