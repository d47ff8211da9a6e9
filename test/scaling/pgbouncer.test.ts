import { randomBytes } from 'node:crypto';
import { Database } from '@runner-planner/database';
import { type PgBouncer, startPgBouncer } from '@runner-planner/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppProcess } from '../support/apps.js';
import { useSystem } from '../support/system.js';
import { sendGitHub, workflowJobPayload } from '../support/webhooks.js';

// Workers and planner reach PostgreSQL through PgBouncer in transaction mode, the version Debian
// ships (1.18: no prepared statements across transactions), with the LISTEN connection direct.

const system = useSystem('pgbouncer');
const ADMIN_TOKEN = `planner_v0_${randomBytes(15).toString('base64url').slice(0, 20)}`;
let bouncer: PgBouncer;
let gateway: AppProcess;
let planner: AppProcess;

beforeAll(async () => {
  bouncer = await startPgBouncer(system.databaseUrl, 'transaction');
  const env = {
    DATABASE_URL: bouncer.url,
    DATABASE_LISTEN_URL: system.databaseUrl,
    DATABASE_PREPARED_STATEMENTS: 'false',
    ADMIN_TOKEN,
  };
  // Two workers: their writes interleave on PgBouncer's three server connections.
  [gateway, , , planner] = await Promise.all([
    system.start('gateway'),
    system.start('worker', env),
    system.start('worker', { ...env, WORKER_PORT: '0' }),
    system.start('planner', env),
  ]);
}, 60_000);
afterAll(() => bouncer?.stop());

/** Transactions PgBouncer has carried for the test's database so far. */
const transactionsThroughBouncer = () => bouncer.transactions(new URL(system.databaseUrl).pathname.slice(1));

const api = (path: string, init: RequestInit = {}) =>
  fetch(`${planner.url}/api/v1${path}`, {
    ...init,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
  });

const workflowJob = (id: number, action: 'queued' | 'completed') =>
  workflowJobPayload(id, action, ['self-hosted', 'linux', 'bouncer']);

/** Pressure values a stream reports, as they arrive. */
async function openStream(flavor: string) {
  const abort = new AbortController();
  const response = await fetch(`${planner.url}/api/v1/flavors/${flavor}/pressure?stream=true`, {
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    signal: abort.signal,
  });
  expect(response.status).toBe(200);
  const values: number[] = [];
  const reading = (async () => {
    const decoder = new TextDecoder();
    let buffered = '';
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        buffered += decoder.decode(chunk, { stream: true });
        for (let end = buffered.indexOf('\n'); end !== -1; end = buffered.indexOf('\n')) {
          const line = buffered.slice(0, end).trim();
          buffered = buffered.slice(end + 1);
          if (line !== '') values.push((JSON.parse(line) as Record<string, number>)[flavor] ?? Number.NaN);
        }
      }
    } catch {
      // Aborted at the end of the test.
    }
  })();
  return {
    values,
    async close() {
      abort.abort();
      await reading;
    },
  };
}

describe('through PgBouncer in transaction mode', () => {
  it('records webhooks, answers pressure and streams it, with the LISTEN connection direct', async () => {
    expect(bouncer.version).toBe('1.18.0');
    const flavor = await api('/flavors/bouncer', {
      method: 'POST',
      body: JSON.stringify({ platform: 'github', labels: ['bouncer'], priority: 1 }),
    });
    expect(flavor.status).toBe(201);
    const stream = await openStream('bouncer');
    try {
      const before = await transactionsThroughBouncer();
      const ids = Array.from({ length: 40 }, (_, i) => 7_000_000 + i);
      for (const id of ids)
        expect((await sendGitHub(gateway.url, workflowJob(id, 'queued'))).status).toBe(202);
      await system.drained();

      await expect
        .poll(async () => (await (await api('/flavors/bouncer/pressure')).json()) as unknown)
        .toEqual({
          bouncer: 40,
        });
      await expect.poll(() => stream.values.at(-1), { timeout: 10_000 }).toBe(40);

      for (const id of ids)
        expect((await sendGitHub(gateway.url, workflowJob(id, 'completed'))).status).toBe(202);
      await system.drained();
      await expect.poll(() => stream.values.at(-1), { timeout: 10_000 }).toBe(0);

      const jobs = await system.db.listJobs('github');
      expect(jobs).toHaveLength(40);
      expect(jobs.every((job) => job.completedAt !== null && job.assignedFlavor === 'bouncer')).toBe(true);
      // Every write above went through PgBouncer (80 events, the flavor, the pressure reads).
      expect((await transactionsThroughBouncer()) - before).toBeGreaterThan(80);
    } finally {
      await stream.close();
    }
  });

  it('needs DATABASE_PREPARED_STATEMENTS=false: named statements meet server connections that never prepared them', async () => {
    const reads = async (preparedStatements: boolean) => {
      const db = await Database.connect(bouncer.url, {
        listenUrl: system.databaseUrl,
        poolSize: 8,
        preparedStatements,
      });
      try {
        const failures: string[] = [];
        await Promise.all(
          Array.from({ length: 100 }, () =>
            db.getPressures('github').catch((error: Error) => failures.push(error.message)),
          ),
        );
        return failures;
      } finally {
        await db.close();
      }
    };
    const prepared = await reads(true);
    expect(prepared.length).toBeGreaterThan(0);
    expect(prepared[0]).toMatch(/prepared statement "runner_planner_\w+" (does not exist|already exists)/);
    expect(await reads(false)).toEqual([]);
  });
});
