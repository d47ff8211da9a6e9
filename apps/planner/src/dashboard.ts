import { createHash, timingSafeEqual } from 'node:crypto';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import { logErrors, redactUrl } from '@runner-planner/process';
import { closeQueuesAndConnection, producerConnection, WEBHOOK_QUEUE } from '@runner-planner/queue';
import { Queue } from 'bullmq';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

export const DEFAULT_DASHBOARD_PATH = '/admin/queues';
export const DASHBOARD_REALM = 'runner-planner';

/** Every BullMQ queue of the system, shown on the dashboard. Add new queues here. */
const DASHBOARD_QUEUES: readonly { name: string; description: string }[] = [
  {
    name: WEBHOOK_QUEUE,
    description:
      'GitHub and GitLab webhooks between the gateway and the worker; failed = dead letters (never processable, or retried for a day)',
  },
];

export interface DashboardOptions {
  redisUrl: string;
  prefix: string;
  /** The password of the dashboard's HTTP Basic auth (any user name). */
  adminToken: string;
  /** Where the dashboard is mounted; default `/admin/queues`. */
  basePath?: string;
}

export interface Dashboard {
  /** Closes the queues the dashboard opened and their Redis connection. */
  close(): Promise<void>;
}

/**
 * Mounts bull-board on `app` in its own plugin scope, behind HTTP Basic auth: every route of
 * that scope (the page, its static assets and its API) answers 401 without the admin token as
 * password. Dead letters are the queue's failed jobs, with their reason, retryable from the UI.
 */
export async function registerDashboard(app: FastifyInstance, options: DashboardOptions): Promise<Dashboard> {
  if (options.adminToken === '') {
    throw new Error('the queue dashboard needs an admin token (ADMIN_TOKEN) to protect it');
  }
  const basePath = normaliseBasePath(options.basePath ?? DEFAULT_DASHBOARD_PATH);

  // Commands wait for a connection being made but fail after one reconnect attempt, so the UI
  // shows an error instead of hanging; unlike the gateway's, they may queue while connecting
  // (BullMQ issues commands while the queue initialises, even if closed at once).
  const connection = producerConnection(options.redisUrl, { enableOfflineQueue: true });
  const queues = DASHBOARD_QUEUES.map(({ name, description }) => ({
    queue: new Queue(name, { connection, prefix: options.prefix }),
    description,
  }));
  logErrors(
    [connection, ...queues.map(({ queue }) => queue)],
    app.log,
    'queue dashboard: Redis',
    { redis: redactUrl(options.redisUrl) },
    { recoveredOn: 'ready' },
  );

  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(basePath);
  createBullBoard({
    queues: queues.map(
      ({ queue, description }) =>
        new BullMQAdapter(queue, { readOnlyMode: false, allowRetries: true, description }),
    ),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'runner-planner', hideDocsLink: true } },
  });

  const checkAuth = basicAuth(options.adminToken);
  await app.register(async (scope) => {
    scope.addHook('onRequest', checkAuth);
    await scope.register(serverAdapter.registerPlugin(), { prefix: basePath });
  });

  let closed: Promise<void> | undefined;
  return {
    close() {
      closed ??= closeQueuesAndConnection(
        queues.map(({ queue }) => queue),
        connection,
      );
      return closed;
    },
  };
}

function normaliseBasePath(path: string): string {
  const trimmed = path.replace(/\/+$/, '');
  if (!trimmed.startsWith('/')) throw new Error(`dashboard base path must start with "/": ${path}`);
  return trimmed;
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** An onRequest hook: `Authorization: Basic <any user>:<password>` with the expected password. */
function basicAuth(password: string) {
  const expected = digest(password);
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const supplied = basicPassword(request.headers.authorization);
    // Comparing digests keeps the comparison constant-time whatever the lengths.
    if (supplied !== undefined && timingSafeEqual(digest(supplied), expected)) return;
    await reply
      .code(401)
      .header('www-authenticate', `Basic realm="${DASHBOARD_REALM}"`)
      .type('text/plain; charset=utf-8')
      .send('Unauthorized: use the admin token as password\n');
  };
}

function basicPassword(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = /^Basic +([A-Za-z0-9+/=]+) *$/i.exec(header);
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon === -1 ? undefined : decoded.slice(colon + 1);
}
