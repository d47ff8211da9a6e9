import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { AppProcess } from '../support/apps.js';
import { expectEveryEventKeptOnce } from './harness/expectations.js';
import { runScenario, settings } from './harness/scenario.js';
import { createWorld, type World } from './harness/world.js';

// A killed worker's jobs are taken over once their lock expires: short, so recovery is quick.
const WORKER_ENV = { WORKER_LOCK_SECONDS: '2' };
const KILLS = [0.15, 0.3, 0.45, 0.6, 0.75];

let world: World;
beforeAll(async () => {
  world = await createWorld({ label: 'chaos_worker_kill', env: WORKER_ENV });
});
afterAll(async () => world?.close());

it(`worker killed with SIGKILL ${KILLS.length} times during a stream of ${settings.jobs} jobs: nothing lost, nothing doubled`, async () => {
  const gateway = await world.start('gateway');
  let worker: AppProcess = await world.start('worker');
  let killedHolding = 0;
  const figures = await runScenario({
    name: 'worker-sigkill',
    title: `worker SIGKILLed ${KILLS.length}× mid-stream, restarted each time`,
    world,
    gateways: () => [gateway.url],
    async inject(fault) {
      for (const share of KILLS) {
        await fault.untilSent(share);
        const holding = await world.queue.getActiveCount();
        killedHolding += holding;
        await worker.kill();
        fault.log(`worker SIGKILL while ${holding} webhooks were active`);
        await sleep(500);
        worker = await world.start('worker');
        fault.log('worker restarted');
      }
    },
  });
  // The kills hit a worker in the middle of its work, or they would prove nothing.
  expect(killedHolding).toBeGreaterThan(0);
  expectEveryEventKeptOnce(figures);
});
