import { type Config, loadConfig } from '@runner-planner/config';
import { GITHUB_WEBHOOK_PATH, GITLAB_WEBHOOK_PATH, startGateway } from '@runner-planner/gateway';
import { startPlanner } from '@runner-planner/planner';
import { startWorker } from '@runner-planner/worker';
import { dataDir, loadSecrets, removeRuntime, writeRuntime } from './data-dir.js';
import { type RunningPostgres, startEmbeddedPostgres } from './embedded-postgres.js';
import { type ResolvedRedis, resolveRedis } from './redis.js';

const say = (line: string) => process.stdout.write(`runner-planner: ${line}\n`);

interface Closable {
  name: string;
  close(): Promise<void>;
}

/**
 * Waits for SIGINT or SIGTERM, then closes `parts` in order (each one after the previous) and
 * exits 0, or 1 when a part failed to close. A second signal exits at once.
 */
function closeOnSignal(parts: Closable[], after: () => Promise<void> = async () => {}): void {
  let stopping = false;
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) {
      say(`${signal} again: exiting without waiting`);
      process.exit(130);
    }
    stopping = true;
    say(`${signal}: shutting down`);
    let failed = false;
    for (const part of parts) {
      try {
        await part.close();
        say(`${part.name} stopped`);
      } catch (error) {
        failed = true;
        process.stderr.write(`runner-planner: stopping ${part.name} failed: ${(error as Error).message}\n`);
      }
    }
    await after().catch(() => {});
    process.exit(failed ? 1 : 0);
  };
  process.on('SIGINT', (signal) => void stop(signal));
  process.on('SIGTERM', (signal) => void stop(signal));
}

/** `runner-planner start`: gateway, worker and planner in one process, with the defaults of DESIGN §7. */
export async function runStart(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const dir = dataDir();
  const secrets = await loadSecrets(dir);
  const generated: string[] = [];
  const filled: NodeJS.ProcessEnv = { ...env };
  const fill = (name: string, value: string) => {
    if (filled[name] === undefined || filled[name] === '') {
      filled[name] = value;
      generated.push(name);
    }
  };
  fill('ADMIN_TOKEN', secrets.adminToken);
  fill('GITHUB_WEBHOOK_SECRET', secrets.githubWebhookSecret);
  fill('GITLAB_WEBHOOK_TOKEN', secrets.gitlabWebhookToken);
  // Validate everything the user set before starting any service.
  loadConfig(filled);

  const cleanups: Closable[] = [];
  const undo = async () => {
    for (const part of cleanups.reverse()) await part.close().catch(() => {});
  };
  let postgres: RunningPostgres | undefined;
  let redis: ResolvedRedis | undefined;
  try {
    if (filled.DATABASE_URL === undefined || filled.DATABASE_URL === '') {
      postgres = await startEmbeddedPostgres(dir, secrets.postgresPassword, say);
      cleanups.push({ name: 'embedded PostgreSQL', close: postgres.stop });
      say(`embedded PostgreSQL ready on 127.0.0.1:${postgres.port} (data in ${dir}/postgres)`);
      filled.DATABASE_URL = postgres.url;
    }
    if (filled.REDIS_URL === undefined || filled.REDIS_URL === '') {
      redis = await resolveRedis(dir, say);
      if (redis.started) cleanups.push({ name: 'redis-server', close: redis.stop });
      filled.REDIS_URL = redis.url;
    }
  } catch (error) {
    await undo();
    throw error;
  }

  const config: Config = loadConfig(filled);
  const apps: Closable[] = [];
  try {
    // The worker and the planner both migrate; the worker goes first so they do not race.
    const worker = await startWorker(config);
    const gateway = await startGateway(config);
    const planner = await startPlanner(config);
    // Planner first (ends pressure streams), gateway (stops taking webhooks), then the worker
    // lets its in-flight jobs finish.
    apps.push(
      { name: 'planner', close: () => planner.close() },
      { name: 'gateway', close: () => gateway.close() },
      { name: 'worker', close: () => worker.close() },
    );
    const gatewayUrl = `http://localhost:${config.gatewayPort}`;
    const plannerUrl = `http://localhost:${config.plannerPort}`;
    await writeRuntime(dir, {
      pid: process.pid,
      databaseUrl: config.databaseUrl ?? '',
      redisUrl: config.redisUrl,
      queuePrefix: config.queuePrefix,
      gatewayUrl,
      plannerUrl,
    });
    printBanner(config, gatewayUrl, plannerUrl, generated, dir);
  } catch (error) {
    for (const app of apps.reverse()) await app.close().catch(() => {});
    await undo();
    throw error;
  }
  closeOnSignal([...apps, ...cleanups.reverse()], () => removeRuntime(dir));
}

function printBanner(
  config: Config,
  gatewayUrl: string,
  plannerUrl: string,
  generated: string[],
  dir: string,
) {
  const origin = (name: string) =>
    generated.includes(name) ? ` (generated, kept in ${dir}/secrets.json)` : '';
  const gitlabOn = config.gitlabToken !== undefined;
  const lines = [
    '',
    'runner-planner is running',
    '',
    `  GitHub webhook URL:    ${gatewayUrl}${GITHUB_WEBHOOK_PATH}`,
    `  GitHub webhook secret: ${config.githubWebhookSecrets[0] ?? ''}${origin('GITHUB_WEBHOOK_SECRET')}`,
    '                         content type application/json, event "Workflow jobs"',
    `  GitLab webhook URL:    ${gatewayUrl}${GITLAB_WEBHOOK_PATH}${gitlabOn ? '' : ' (off until GITLAB_TOKEN is set)'}`,
    `  GitLab webhook token:  ${config.gitlabWebhookTokens[0] ?? ''}${origin('GITLAB_WEBHOOK_TOKEN')}`,
    '                         trigger "Job events"',
    `  Planner API:           ${plannerUrl}/api/v1`,
    `  Queue dashboard:       ${plannerUrl}/admin/queues (any user name, the admin token as password)`,
    `  Metrics:               ${plannerUrl}/metrics, ${gatewayUrl}/metrics, http://localhost:${config.workerPort}/metrics`,
    `  Admin token:           ${config.adminToken ?? ''}${origin('ADMIN_TOKEN')}`,
    '',
    '  Forges must reach the webhook URLs: replace localhost with an address they can reach.',
    '  Admin commands in this directory use this instance: runner-planner flavor list, runner-planner pressure',
    '  Ctrl-C stops everything.',
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** `runner-planner gateway|worker|planner`: one app alone, configured only by the environment. */
export async function runApp(which: 'gateway' | 'worker' | 'planner'): Promise<void> {
  const config = loadConfig();
  const running =
    which === 'gateway'
      ? await startGateway(config)
      : which === 'worker'
        ? await startWorker(config)
        : await startPlanner(config);
  closeOnSignal([{ name: which, close: () => running.close() }]);
}
