import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import {
  createWebhookProducer,
  createWebhookWorker,
  DeadLetterError,
  type Envelope,
  queueJobId,
  WEBHOOK_QUEUE,
  type WebhookProducer,
} from '@runner-planner/queue';
import { createTestQueuePrefix } from '@runner-planner/testkit';
import { Queue, type Worker } from 'bullmq';
import Fastify, { type FastifyInstance } from 'fastify';
import { chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Dashboard, registerDashboard } from '../src/dashboard.js';

const CHROMIUM = '/usr/bin/chromium';
const ADMIN_TOKEN = 'planner_v0_dashboardTestToken01';
const REASON = 'body is not valid JSON: test';
const DELIVERY = 'dead-letter-1';
const JOB_ID = queueJobId('github', DELIVERY);
const SCREENSHOT = fileURLToPath(new URL('../test-results/dashboard.png', import.meta.url));

const space = createTestQueuePrefix('dashboard');
let app: FastifyInstance;
let dashboard: Dashboard;
let producer: WebhookProducer;
let worker: Worker | undefined;
let inspect: Queue;
let url: string;

function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

async function until(condition: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Hovers each icon-only button until one shows `tooltip`, then clicks it. */
async function clickIconButton(page: Page, tooltip: string): Promise<void> {
  const buttons = page.getByRole('button');
  const count = await buttons.count();
  for (let index = 0; index < count; index++) {
    const button = buttons.nth(index);
    if (((await button.textContent()) ?? '').trim() !== '' || !(await button.isVisible())) continue;
    await button.hover();
    const tip = page.getByText(tooltip, { exact: true });
    const shown = await tip
      .first()
      .waitFor({ state: 'visible', timeout: 1_500 })
      .then(
        () => true,
        () => false,
      );
    if (shown) {
      await button.click();
      return;
    }
  }
  throw new Error(`no button with the tooltip ${JSON.stringify(tooltip)}`);
}

beforeAll(async () => {
  inspect = new Queue(WEBHOOK_QUEUE, { connection: { url: space.redisUrl }, prefix: space.prefix });
  producer = createWebhookProducer({ redisUrl: space.redisUrl, prefix: space.prefix });
  worker = createWebhookWorker(
    { redisUrl: space.redisUrl, prefix: space.prefix, concurrency: 1 },
    async () => {
      throw new DeadLetterError(REASON);
    },
  );
  worker.on('error', () => {});
  const envelope: Envelope = {
    platform: 'github',
    deliveryId: DELIVERY,
    event: 'workflow_job',
    receivedAt: new Date().toISOString(),
    headers: { 'x-github-event': 'workflow_job', 'x-github-delivery': DELIVERY },
    body: '{"action": "queued", oops',
  };
  expect(await producer.enqueue(envelope)).toBe('enqueued');
  await until(async () => (await inspect.getJobState(JOB_ID)) === 'failed', 'the job to be dead-lettered');
  // Nobody consumes the queue from here on, so a retried job stays visibly out of the failed state.
  await worker.close();
  worker = undefined;

  app = Fastify();
  dashboard = await registerDashboard(app, {
    redisUrl: space.redisUrl,
    prefix: space.prefix,
    adminToken: ADMIN_TOKEN,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await worker?.close();
  await app?.close();
  await dashboard?.close();
  await producer?.close();
  await inspect?.close();
  await space.cleanup();
});

describe('queue dashboard authentication', () => {
  const protectedPaths = [
    '/admin/queues',
    '/admin/queues/',
    `/admin/queues/queue/${WEBHOOK_QUEUE}`,
    '/admin/queues/api/queues',
    `/admin/queues/api/queues/${WEBHOOK_QUEUE}/${JOB_ID}`,
    '/admin/queues/static/images/logo.svg',
  ];
  const refused: [string, Record<string, string>][] = [
    ['no credentials', {}],
    ['a wrong password', { authorization: basic('admin', 'planner_v0_wrongwrongwrongwrong') }],
    ['the admin token as user name', { authorization: basic(ADMIN_TOKEN, '') }],
    ['the admin token as Bearer', { authorization: `Bearer ${ADMIN_TOKEN}` }],
    ['a malformed header', { authorization: 'Basic !!!' }],
  ];

  for (const path of protectedPaths) {
    it.each(refused)(`${path}: 401 with %s`, async (_label, headers) => {
      const response = await fetch(`${url}${path}`, { headers });
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe('Basic realm="runner-planner"');
      expect(await response.text()).not.toContain(REASON);
    });
  }

  it('a retry through the API is refused without credentials', async () => {
    const response = await fetch(`${url}/admin/queues/api/queues/${WEBHOOK_QUEUE}/${JOB_ID}/retry`, {
      method: 'PUT',
    });
    expect(response.status).toBe(401);
    expect(await inspect.getJobState(JOB_ID)).toBe('failed');
  });

  it.each(['admin', 'ops', ''])(
    'any user name with the admin token as password gets in (user %j)',
    async (user) => {
      const authorization = basic(user, ADMIN_TOKEN);
      const page = await fetch(`${url}/admin/queues`, { headers: { authorization } });
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toContain('text/html');
      const asset = await fetch(`${url}/admin/queues/static/images/logo.svg`, { headers: { authorization } });
      expect(asset.status).toBe(200);
      const api = await fetch(`${url}/admin/queues/api/queues?activeQueue=${WEBHOOK_QUEUE}&status=failed`, {
        headers: { authorization },
      });
      expect(api.status).toBe(200);
      const body = (await api.json()) as {
        queues: { name: string; readOnlyMode: boolean; jobs: { id: string; failedReason: string }[] }[];
      };
      const webhooks = body.queues.find((queue) => queue.name === WEBHOOK_QUEUE);
      expect(webhooks?.readOnlyMode).toBe(false);
      expect(webhooks?.jobs).toContainEqual(expect.objectContaining({ id: JOB_ID, failedReason: REASON }));
    },
  );

  it('leaves routes outside the dashboard alone', async () => {
    const response = await fetch(`${url}/elsewhere`);
    expect(response.status).toBe(404);
    expect(response.headers.get('www-authenticate')).toBeNull();
  });
});

describe('queue dashboard in a browser', () => {
  const browser = existsSync(CHROMIUM);
  it.skipIf(!browser)(
    browser
      ? 'shows the dead letter and its reason, and retries it from the UI'
      : `SKIPPED: no ${CHROMIUM} (apt-get install chromium): dead letter shown and retried in a real browser`,
    async () => {
      const chrome = await chromium.launch({
        executablePath: CHROMIUM,
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
          '--disable-quic',
          '--no-first-run',
        ],
      });
      try {
        const context = await chrome.newContext({
          httpCredentials: { username: 'ops', password: ADMIN_TOKEN },
          viewport: { width: 1400, height: 1000 },
        });
        const page = await context.newPage();
        const failedRequests: string[] = [];
        page.on('response', (response) => {
          if (response.status() >= 400) failedRequests.push(`${response.status()} ${response.url()}`);
        });

        const overview = await page.goto(`${url}/admin/queues`);
        expect(overview?.status()).toBe(200);
        // The overview lists every queue by name.
        await expect
          .poll(() => page.getByText(WEBHOOK_QUEUE, { exact: true }).first().isVisible(), { timeout: 15_000 })
          .toBe(true);

        // The queue's failed tab: the dead letter, its id and its reason.
        await page.goto(`${url}/admin/queues/queue/${WEBHOOK_QUEUE}?status=failed`);
        await expect.poll(() => page.getByText(REASON).first().isVisible(), { timeout: 15_000 }).toBe(true);
        await expect.poll(() => page.getByText(JOB_ID).first().isVisible()).toBe(true);
        await mkdir(fileURLToPath(new URL('../test-results/', import.meta.url)), { recursive: true });
        await page.screenshot({ path: SCREENSHOT, fullPage: true });

        // Retry from the UI: the job card's icon buttons are named only by their tooltips.
        await clickIconButton(page, 'Retry');
        const dialog = page.getByRole('alertdialog').or(page.getByRole('dialog'));
        if (await dialog.isVisible().catch(() => false)) {
          await dialog.getByRole('button', { name: /retry|confirm|ok|yes/i }).click();
        }
        await expect.poll(() => inspect.getJobState(JOB_ID), { timeout: 15_000 }).toBe('waiting');
        await page.goto(`${url}/admin/queues/queue/${WEBHOOK_QUEUE}?status=failed`);
        await expect.poll(() => page.getByText(REASON).count(), { timeout: 15_000 }).toBe(0);

        // Every request the page made (HTML, scripts, styles, API) was authorised.
        expect(failedRequests).toEqual([]);
        await context.close();
      } finally {
        await chrome.close();
      }
    },
    60_000,
  );
});
