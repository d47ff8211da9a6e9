import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '@runner-planner/config';
import { createTestQueuePrefix, type FakeGitHub, startFakeGitHub } from '@runner-planner/testkit';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  canReconcile,
  createGitHubClient,
  createReconcileMetrics,
  createReconciler,
  reconcileOnce,
} from '../src/index.js';
import { useDatabase } from './support.js';

const fixture = useDatabase('worker_reconcile_app');
const queue = createTestQueuePrefix('reconcile-app');
const APP_ID = 424_242;
// GitHub hands out PKCS#1 ("BEGIN RSA PRIVATE KEY") keys for Apps.
const appKeys = generateKeyPairSync('rsa', { modulusLength: 2048 });
const appPrivateKey = appKeys.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
let github: FakeGitHub;
let keyDir: string;
let redis: Redis;

beforeAll(async () => {
  github = await startFakeGitHub('ghp_repo-token', { app: { id: APP_ID, publicKey: appKeys.publicKey } });
  keyDir = await mkdtemp(join(tmpdir(), 'rp-app-key-'));
  redis = new Redis(queue.redisUrl);
});
afterAll(async () => {
  await github?.close();
  if (keyDir) await rm(keyDir, { recursive: true, force: true });
  redis?.disconnect();
  await queue.cleanup();
});

const MINUTE = 60_000;
const ago = (minutes: number) => new Date(Date.now() - minutes * MINUTE).toISOString();

describe('reconcile: the GitHub App hook', () => {
  it('redelivers a failed app-hook delivery exactly once, authenticated with the App JWT', async () => {
    const failed = github.addAppDelivery({
      delivered_at: ago(4),
      status: 'Invalid HTTP Response: 502',
      status_code: 502,
    });
    github.addAppDelivery({ delivered_at: ago(3) });
    // Outside the look-back window (3 intervals of 5 minutes): left alone.
    github.addAppDelivery({ delivered_at: ago(40), status: 'failed', status_code: 500 });
    // GitHub lists redeliveries late: only the remembered id stops a second redelivery.
    github.listRedeliveries(false);

    const keyFile = join(keyDir, 'app.pem');
    await writeFile(keyFile, appPrivateKey, { mode: 0o600 });
    const config = loadConfig({
      GITHUB_API_URL: github.url,
      GITHUB_HOOKS: 'app',
      GITHUB_APP_ID: String(APP_ID),
      GITHUB_APP_PRIVATE_KEY_FILE: keyFile,
      REDIS_URL: queue.redisUrl,
      QUEUE_PREFIX: queue.prefix,
      RECONCILE_INTERVAL: '5m',
    });
    // No GITHUB_TOKEN: the App's credentials alone are enough to reconcile its hook.
    expect(canReconcile(config)).toBe(true);
    const reconciler = createReconciler(config, fixture.db);
    try {
      const first = await reconciler.run();
      expect(first.redelivery).toEqual({ failed: 1, redelivered: 1, errors: 0 });
      expect(github.redeliveries).toEqual([failed.id]);
      expect(
        github.requests.filter((r) => r.path.startsWith('/app/')).map((r) => `${r.method} ${r.path}`),
      ).toEqual(['GET /app/hook/deliveries', `POST /app/hook/deliveries/${failed.id}/attempts`]);
      expect(github.rejectedAppTokens).toBe(0);

      expect((await reconciler.run()).redelivery.redelivered).toBe(0);
      github.listRedeliveries(true);
      expect((await reconciler.run()).redelivery).toEqual({ failed: 0, redelivered: 0, errors: 0 });
      expect(github.redeliveries).toEqual([failed.id]);
      expect(github.appDeliveries().filter((d) => d.redelivery)).toHaveLength(1);
    } finally {
      await reconciler.close();
    }
  }, 30_000);

  it('counts an error and redelivers nothing when the JWT is signed with another key', async () => {
    github.addAppDelivery({ delivered_at: ago(1), status: 'timed out', status_code: 0 });
    const before = github.redeliveries.length;
    const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 })
      .privateKey.export({ type: 'pkcs1', format: 'pem' })
      .toString();
    const registry = new Registry();
    const report = await reconcileOnce({
      db: fixture.db,
      redis,
      prefix: `${queue.prefix}-other-key`,
      metrics: createReconcileMetrics(registry),
      githubApp: createGitHubClient({ baseUrl: github.url, app: { appId: APP_ID, privateKey: otherKey } }),
      githubHooks: [{ kind: 'app' }],
      gitlab: undefined,
      intervalMs: 5 * MINUTE,
      staleAfterMs: 15 * MINUTE,
      batchSize: 100,
    });
    expect(report.redelivery).toEqual({ failed: 0, redelivered: 0, errors: 1 });
    expect(github.rejectedAppTokens).toBeGreaterThan(0);
    expect(github.redeliveries).toHaveLength(before);
  });
});
