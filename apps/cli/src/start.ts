import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { type Config, loadConfig } from '@runner-planner/config';
import { pingDatabase } from '@runner-planner/database';
import { GITHUB_WEBHOOK_PATH, GITLAB_WEBHOOK_PATH, startGateway } from '@runner-planner/gateway';
import { startPlanner } from '@runner-planner/planner';
import {
  closeOnExit,
  lineLog,
  openConnections,
  type Part,
  redactUrl,
  runService,
  type Service,
} from '@runner-planner/process';
import { startWorker } from '@runner-planner/worker';
import { checkOwner, claimDataDir, dataDir, loadSecrets, removeRuntime, writeRuntime } from './data-dir.js';
import { clusterDir, type RunningPostgres, startEmbeddedPostgres } from './embedded-postgres.js';
import { CliError } from './errors.js';
import { cliCommand } from './invocation.js';
import { isPortFree } from './ports.js';
import { errorText, type ResolvedRedis, redisProblem, resolveRedis } from './redis.js';

const say = (line: string) => process.stdout.write(`runner-planner: ${line}\n`);

type Closable = Part;

/**
 * The apps' lifecycle (SIGINT, SIGTERM, an uncaught error: `parts` closed in order, exit 0, or 1
 * when one fails or SHUTDOWN_TIMEOUT passes), told in one line per step for the person at the
 * terminal rather than as JSON.
 */
function closeOnSignal(parts: Closable[], timeoutMs: number): void {
  closeOnExit({ log: lineLog('runner-planner'), parts, timeoutMs });
}

/** `runner-planner start`: gateway, worker and planner in one process, with the defaults of DESIGN §7. */
export async function runStart(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const dir = dataDir();
  try {
    await startAll(env, dir);
  } catch (error) {
    throw plainFailure(error, dir);
  }
}

/**
 * What a newcomer's machine can throw at `start`, as one line that says what to do (printed by
 * main.ts without a stack). Errors not recognised here are bugs and keep their stack.
 */
function plainFailure(error: unknown, dir: string): unknown {
  const { code, path, syscall } = (error ?? {}) as NodeJS.ErrnoException;
  if (code === 'ENOSPC') {
    return new CliError(`no space left on device for ${path ?? dir}: free some space and start again`);
  }
  if ((code === 'EACCES' || code === 'EPERM' || code === 'EROFS') && path !== undefined) {
    return new CliError(
      `cannot ${syscall ?? 'write'} ${path} (${code}): run start in a directory you can write, as the user who owns it`,
    );
  }
  return error;
}

const PORTS = [
  ['GATEWAY_PORT', 'gatewayPort'],
  ['PLANNER_PORT', 'plannerPort'],
  ['WORKER_PORT', 'workerPort'],
] as const;

const portInUse = (port: number, variable: string) =>
  new CliError(`port ${port} is in use (${variable}): stop what uses it or set ${variable} to a free port`);

/**
 * Where `start` listens: loopback unless LISTEN_HOST says otherwise, so a laptop's first run does
 * not offer its admin API and unauthenticated metrics to the network it is on.
 */
const START_HOST = '127.0.0.1';

/** A port is checked before anything starts, not after the database. */
async function checkPorts(config: Config, host: string): Promise<void> {
  for (const [variable, key] of PORTS) {
    if (!(await isPortFree(config[key], host))) throw portInUse(config[key], variable);
  }
}

async function checkDatabaseUrl(url: string): Promise<void> {
  try {
    await pingDatabase(url, 5_000);
  } catch (error) {
    throw new CliError(
      `cannot reach PostgreSQL at DATABASE_URL=${redactUrl(url)} (${errorText(error)}): start it or correct DATABASE_URL, or unset DATABASE_URL for an embedded PostgreSQL`,
    );
  }
}

async function checkRedisUrl(url: string): Promise<void> {
  const problem = await redisProblem(url, 5_000);
  if (problem !== undefined) {
    throw new CliError(
      `cannot reach Redis at REDIS_URL=${redactUrl(url)} (${problem}): start it or correct REDIS_URL, or unset REDIS_URL to use 127.0.0.1:6379 or a redis-server start launches`,
    );
  }
}

const unset = (value: string | undefined) => value === undefined || value === '';

async function startAll(env: NodeJS.ProcessEnv, dir: string): Promise<void> {
  await checkOwner(dir);
  const freshSecrets = !existsSync(join(dir, 'secrets.json'));
  await mkdir(dir, { recursive: true });
  const release = await claimDataDir(dir);
  const cleanups: Closable[] = [];
  const undo = async () => {
    for (const part of cleanups.reverse()) await part.close().catch(() => {});
    await release();
  };
  let postgres: RunningPostgres | undefined;
  let redis: ResolvedRedis | undefined;
  const generated: string[] = [];
  const filled: NodeJS.ProcessEnv = { ...env };
  try {
    const secrets = await loadSecrets(dir);
    const fill = (name: string, value: string) => {
      if (unset(filled[name])) {
        filled[name] = value;
        generated.push(name);
      }
    };
    fill('ADMIN_TOKEN', secrets.adminToken);
    fill('GITHUB_WEBHOOK_SECRET', secrets.githubWebhookSecret);
    fill('GITLAB_WEBHOOK_TOKEN', secrets.gitlabWebhookToken);
    // Validate everything the user set, and check what the machine must offer, before starting
    // any service: the cheap checks first, the embedded PostgreSQL (slow on a first start) last.
    const checked = loadConfig(filled);
    await checkPorts(checked, checked.listenHost ?? START_HOST);
    // Free now, but the apps bind them only once Redis and PostgreSQL are up: keep those off them.
    const appPorts = new Set(PORTS.map(([, key]) => checked[key]));
    if (!unset(filled.DATABASE_URL)) await checkDatabaseUrl(filled.DATABASE_URL as string);
    if (!unset(filled.REDIS_URL)) await checkRedisUrl(filled.REDIS_URL as string);
    if (unset(filled.REDIS_URL)) {
      redis = await resolveRedis(dir, say, { reservedPorts: appPorts });
      if (redis.started) cleanups.push({ name: 'redis-server', close: redis.stop });
      filled.REDIS_URL = redis.url;
    }
    if (unset(filled.DATABASE_URL)) {
      const cluster = await clusterDir(dir, freshSecrets, say);
      postgres = await startEmbeddedPostgres(dir, cluster, secrets.postgresPassword, say, appPorts);
      cleanups.push({ name: 'embedded PostgreSQL', close: postgres.stop });
      say(`embedded PostgreSQL ready on 127.0.0.1:${postgres.port} (data in ${postgres.dir})`);
      filled.DATABASE_URL = postgres.url;
    }
  } catch (error) {
    await undo();
    throw error;
  }

  const config: Config = loadConfig(filled);
  const host = config.listenHost ?? START_HOST;
  const apps: Closable[] = [];
  try {
    // The worker and the planner both migrate; the worker goes first so they do not race.
    const worker = await startWorker(config, { host });
    apps.push({ name: 'worker', close: () => worker.close(), pending: () => worker.pending() });
    const gateway = await startGateway(config, { host });
    apps.push({
      name: 'gateway',
      close: () => gateway.close(),
      pending: openConnections(gateway.app.server),
    });
    const planner = await startPlanner(config, { host });
    apps.push({
      name: 'planner',
      close: () => planner.close(),
      pending: openConnections(planner.app.server),
    });
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
    // Planner first (ends pressure streams), gateway (stops taking webhooks), then the worker
    // lets its in-flight jobs finish; then the redis-server start launched, PostgreSQL last.
    // Installed before the banner: a Ctrl-C as soon as it shows must close all of this.
    const dataDirectory: Closable = {
      name: `${dir} (runtime.json and lock)`,
      close: async () => {
        await removeRuntime(dir);
        await release();
      },
      stopped: `${dir} released`,
    };
    closeOnSignal([...[...apps].reverse(), ...cleanups, dataDirectory], config.shutdownTimeoutMs);
    printBanner(config, gatewayUrl, plannerUrl, generated, dir, host);
  } catch (error) {
    for (const app of apps.reverse()) await app.close().catch(() => {});
    await undo();
    // A port taken between the check and the listen.
    const { code, port } = error as NodeJS.ErrnoException & { port?: number };
    const taken = PORTS.find(([, key]) => config[key] === port);
    if (code === 'EADDRINUSE' && taken !== undefined) throw portInUse(config[taken[1]], taken[0]);
    throw error;
  }
}

function printBanner(
  config: Config,
  gatewayUrl: string,
  plannerUrl: string,
  generated: string[],
  dir: string,
  host: string,
) {
  // A secret start made is shown once here, where the user copies it into the forge; one the
  // user supplied is theirs already, and terminals, CI logs and screen shares keep what is printed.
  const secret = (name: string, value: string | undefined) =>
    generated.includes(name)
      ? `${value ?? ''} (generated, kept in ${dir}/secrets.json)`
      : `(yours, from ${name}; not shown)`;
  const gitlabOn = config.gitlabToken !== undefined;
  const lines = [
    '',
    'runner-planner is running',
    '',
    `  GitHub webhook URL:    ${gatewayUrl}${GITHUB_WEBHOOK_PATH}`,
    `  GitHub webhook secret: ${secret('GITHUB_WEBHOOK_SECRET', config.githubWebhookSecrets[0])}`,
    '                         content type application/json, event "Workflow jobs"',
    `  GitLab webhook URL:    ${gatewayUrl}${GITLAB_WEBHOOK_PATH}${gitlabOn ? '' : ' (off until GITLAB_TOKEN is set)'}`,
    `  GitLab webhook token:  ${secret('GITLAB_WEBHOOK_TOKEN', config.gitlabWebhookTokens[0])}`,
    '                         trigger "Job events"',
    `  Planner API:           ${plannerUrl}/api/v1`,
    `  Queue dashboard:       ${plannerUrl}/admin/queues (any user name, the admin token as password)`,
    `  Metrics:               ${plannerUrl}/metrics, ${gatewayUrl}/metrics, http://localhost:${config.workerPort}/metrics`,
    `  Admin token:           ${secret('ADMIN_TOKEN', config.adminToken)}`,
    '',
    host === START_HOST
      ? '  Listening on 127.0.0.1 only: set LISTEN_HOST=0.0.0.0 for forges and other machines to reach it.'
      : `  Listening on ${host}. Forges must reach the webhook URLs: replace localhost with an address they can reach.`,
    `  Admin commands in this directory use this instance: ${cliCommand()} flavor list, ${cliCommand()} pressure`,
    '  Ctrl-C stops everything.',
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** `runner-planner gateway|worker|planner`: one app alone, configured only by the environment. */
export async function runApp(which: 'gateway' | 'worker' | 'planner'): Promise<void> {
  await runService(which, async (config): Promise<Service> => {
    if (which === 'worker') {
      const worker = await startWorker(config);
      return {
        log: worker.log,
        parts: [{ name: which, close: () => worker.close(), pending: () => worker.pending() }],
      };
    }
    const app = which === 'gateway' ? await startGateway(config) : await startPlanner(config);
    return {
      log: app.app.log,
      parts: [{ name: which, close: () => app.close(), pending: openConnections(app.app.server) }],
    };
  });
}
