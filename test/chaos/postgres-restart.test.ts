import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { expectEveryEventKeptOnce } from './harness/expectations.js';
import { type OwnPostgres, startOwnPostgres } from './harness/own-postgres.js';
import { runScenario, settings } from './harness/scenario.js';
import { createWorld, type World } from './harness/world.js';

/** How long PostgreSQL stays down between its stop and its start. */
const DOWN_MS = 3_000;

// Never the machine's cluster: other people use it. A cluster of this file's own is restarted.
let postgres: OwnPostgres;
let world: World;
beforeAll(async () => {
  postgres = await startOwnPostgres();
  world = await createWorld({ label: 'chaos_pg_restart', adminUrl: postgres.adminUrl });
});
afterAll(async () => {
  await world?.close();
  await postgres?.close();
});

it(`PostgreSQL restarted during a stream of ${settings.jobs} jobs: writes wait and retry, nothing lost or doubled`, async () => {
  const gateway = await world.start('gateway');
  await world.start('worker');
  const figures = await runScenario({
    name: 'postgres-restart',
    title: `PostgreSQL stopped (fast shutdown) mid-stream, started again ${DOWN_MS / 1000} s later`,
    world,
    gateways: () => [gateway.url],
    async inject(fault) {
      await fault.untilSent(0.4);
      await postgres.stop();
      fault.log('PostgreSQL stopped');
      await sleep(DOWN_MS);
      // The outage was felt: webhooks piled up in the queue meanwhile.
      expect(await world.backlog()).toBeGreaterThan(0);
      await postgres.start();
      fault.log('PostgreSQL started');
    },
  });
  expectEveryEventKeptOnce(figures);
});
