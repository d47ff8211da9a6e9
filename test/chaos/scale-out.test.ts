import { afterAll, beforeAll, it } from 'vitest';
import type { AppProcess } from '../support/apps.js';
import { expectEveryEventKeptOnce } from './harness/expectations.js';
import { runScenario, settings } from './harness/scenario.js';
import { createWorld, type World } from './harness/world.js';

let world: World;
beforeAll(async () => {
  world = await createWorld({ label: 'chaos_scale_out' });
});
afterAll(async () => world?.close());

it(`two gateways and three workers, each job's events spread over the gateways, ${settings.jobs} jobs: every job right once`, async () => {
  const gateways: AppProcess[] = await Promise.all([world.start('gateway'), world.start('gateway')]);
  await Promise.all([world.start('worker'), world.start('worker'), world.start('worker')]);
  const figures = await runScenario({
    name: 'scale-out',
    title: '2 gateways + 3 workers; a job’s events (and retries) alternate gateways',
    world,
    gateways: () => gateways.map((gateway) => gateway.url),
    // The concurrency is the fault: nothing else is injected.
    async inject() {},
  });
  expectEveryEventKeptOnce(figures);
});
