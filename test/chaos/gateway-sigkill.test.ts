import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type AppProcess, freePort } from '../support/apps.js';
import { expectEveryEventKeptOnce } from './harness/expectations.js';
import { runScenario, settings } from './harness/scenario.js';
import { createWorld, type World } from './harness/world.js';

const KILLS = [0.25, 0.5, 0.75];
/** How long the gateway stays dead: the sender's requests are refused meanwhile. */
const DOWN_MS = 1_000;

let world: World;
beforeAll(async () => {
  world = await createWorld({ label: 'chaos_gateway_kill' });
});
afterAll(async () => world?.close());

it(`gateway killed with SIGKILL ${KILLS.length} times during a stream of ${settings.jobs} jobs: the sender's redeliveries are taken once`, async () => {
  // Restarted where the sender points, as behind a load balancer or a fixed webhook URL.
  const port = await freePort();
  let gateway: AppProcess = await world.start('gateway', { port });
  await world.start('worker');
  const figures = await runScenario({
    name: 'gateway-sigkill',
    title: `gateway SIGKILLed ${KILLS.length}× mid-stream, restarted on its port ${DOWN_MS / 1000} s later (+ start-up)`,
    world,
    gateways: () => [gateway.url],
    async inject(fault) {
      for (const share of KILLS) {
        await fault.untilSent(share);
        await gateway.kill();
        const killed = performance.now();
        fault.log('gateway SIGKILL');
        await sleep(DOWN_MS);
        gateway = await world.start('gateway', { port });
        fault.log(`gateway healthy again after ${((performance.now() - killed) / 1000).toFixed(1)} s down`);
      }
    },
  });
  expectEveryEventKeptOnce(figures);
  // The fault was felt: some events had to be redelivered.
  expect(figures.send.retried).toBeGreaterThan(0);
});
