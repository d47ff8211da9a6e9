import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createWebhookProducer } from '@runner-planner/queue';
import { describe, expect, it } from 'vitest';
import type { AppProcess } from '../support/apps.js';
import { gitlabJobHook, useSystem } from '../support/system.js';

const system = useSystem('e2e_shutdown');
const PLANT = fileURLToPath(new URL('./plant-error.mjs', import.meta.url));

/** Logs at info: the lifecycle's lines are what these tests read. */
const start = (name: 'gateway' | 'worker' | 'planner', env: Record<string, string> = {}) =>
  system.start(name, { LOG_LEVEL: 'info', ADMIN_TOKEN: 'planner_v0_shutdownTestToken012', ...env });

/** Signals the app and resolves its exit code and how long it took to exit. */
async function signal(app: AppProcess, ...signals: NodeJS.Signals[]) {
  const exited = once(app.child, 'exit');
  const sent = performance.now();
  for (const name of signals) app.child.kill(name);
  const [code] = (await exited) as [number | null];
  return { code, ms: performance.now() - sent };
}

/** Resolves once the app has printed `text` (concurrent tests cannot use expect.poll). */
async function printed(app: AppProcess, text: string): Promise<void> {
  for (const deadline = Date.now() + 20_000; !app.output().includes(text); ) {
    if (Date.now() > deadline || app.child.exitCode !== null) {
      throw new Error(`${app.name} did not print "${text}":\n${app.output()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A webhook request whose body never finishes arriving: the gateway cannot close until it does. */
async function holdRequest(app: AppProcess): Promise<Socket> {
  const { port } = new URL(app.url);
  const socket = connect(Number(port), '127.0.0.1');
  await once(socket, 'connect');
  socket.on('error', () => undefined);
  socket.write(
    'POST /webhooks/github HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n' +
      'Content-Length: 1000\r\n\r\n{"action":',
  );
  await printed(app, 'incoming request');
  return socket;
}

/** A GitLab API that takes requests and never answers: a tag lookup hangs until the client gives up. */
async function silentGitLab(): Promise<{ url: string; asked: Promise<unknown>; server: Server }> {
  const held: IncomingMessage[] = [];
  const server = createServer((request) => held.push(request));
  const asked = once(server, 'request');
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address() as { port: number };
  return { url: `http://127.0.0.1:${address.port}`, asked, server };
}

describe.concurrent('the lifecycle every app shares', () => {
  // The worker's clean exit is asserted by ingestion/webhooks.test.ts; the lifecycle's other
  // branches (a second signal, a rejection, a part that fails to close) by packages/process.
  it('SIGTERM: the gateway and the planner close and exit 0', async () => {
    const apps = await Promise.all([start('gateway'), start('planner')]);
    const results = await Promise.all(apps.map((app) => signal(app, 'SIGTERM')));
    for (const [i, app] of apps.entries()) {
      expect(results[i]?.code, app.output()).toBe(0);
      expect(app.output()).toContain('SIGTERM: shutting down');
      expect(app.output()).toContain(`"msg":"${app.name} stopped"`);
    }
  });

  it('a request held open past SHUTDOWN_TIMEOUT: exit 1 at the deadline, naming the open connection', async () => {
    const gateway = await start('gateway', { SHUTDOWN_TIMEOUT: '1s' });
    const socket = await holdRequest(gateway);
    try {
      const { code, ms } = await signal(gateway, 'SIGTERM');
      expect(code).toBe(1);
      expect(ms).toBeGreaterThanOrEqual(950);
      expect(ms).toBeLessThan(5_000);
      expect(gateway.output()).toContain(
        'shutdown did not finish within 1 s (SHUTDOWN_TIMEOUT): exiting with gateway (1 HTTP connection) still open',
      );
      expect(gateway.output()).not.toContain('"msg":"gateway stopped"');
    } finally {
      socket.destroy();
    }
  });

  it('a worker job still in flight at the deadline: exit 1, naming the job', async () => {
    const gitlab = await silentGitLab();
    const producer = createWebhookProducer({ redisUrl: system.redisUrl, prefix: system.prefix });
    try {
      const worker = await start('worker', { GITLAB_URL: gitlab.url, SHUTDOWN_TIMEOUT: '1s' });
      await producer.enqueue({
        platform: 'gitlab',
        deliveryId: 'held-by-silent-gitlab',
        event: 'Job Hook',
        receivedAt: new Date().toISOString(),
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(gitlabJobHook({ build_id: 424_242, build_status: 'pending' })),
      });
      await gitlab.asked;
      const { code, ms } = await signal(worker, 'SIGTERM');
      expect(code).toBe(1);
      expect(ms).toBeGreaterThanOrEqual(950);
      expect(worker.output()).toContain(
        'exiting with worker (closing the webhook queue consumer; 1 job in flight: gitlab-held-by-silent-gitlab) still open',
      );
    } finally {
      await producer.close();
      gitlab.server.closeAllConnections();
      gitlab.server.close();
    }
  });

  it('an uncaught exception is logged with its stack, the app closes and exits 1', async () => {
    const gateway = await start('gateway', { NODE_OPTIONS: `--import=${PLANT}` });
    const { code } = await signal(gateway, 'SIGUSR2');
    expect(code).toBe(1);
    expect(gateway.output()).toContain('"msg":"uncaught error, shutting down: planted exception"');
    expect(gateway.output()).toContain('"stack":"Error: planted exception');
    expect(gateway.output()).toContain('"msg":"gateway stopped"');
  });
});
