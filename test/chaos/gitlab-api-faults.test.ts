import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { expectEveryEventKeptOnce } from './harness/expectations.js';
import { runScenario, settings } from './harness/scenario.js';
import { createWorld, type World } from './harness/world.js';

const ERROR_MS = 4_000;
const SLOW_MS = 4_000;
const SLOW_ANSWER_MS = 1_500;

let world: World;
beforeAll(async () => {
  world = await createWorld({ label: 'chaos_gitlab_api' });
});
afterAll(async () => world?.close());

it(`GitLab API answering 503, then slow, during a stream of ${settings.jobs} jobs: GitLab events wait and are all recorded with their tags`, async () => {
  const gateway = await world.start('gateway');
  await world.start('worker');
  const figures = await runScenario({
    name: 'gitlab-api',
    title: `GitLab API 503 for ${ERROR_MS / 1000} s, then ${SLOW_ANSWER_MS / 1000} s per answer for ${SLOW_MS / 1000} s`,
    world,
    gateways: () => [gateway.url],
    async inject(fault) {
      await fault.untilSent(0.3);
      const before = world.gitlab.requests.length;
      world.gitlab.failAll(503);
      fault.log('GitLab API answers 503');
      await sleep(ERROR_MS);
      // The outage was felt: tag look-ups were attempted and refused.
      expect(world.gitlab.requests.length).toBeGreaterThan(before);
      world.gitlab.failAll(null);
      world.gitlab.setDelay(SLOW_ANSWER_MS);
      fault.log(`GitLab API recovers but answers after ${SLOW_ANSWER_MS} ms`);
      await sleep(SLOW_MS);
      world.gitlab.setDelay(0);
      fault.log('GitLab API back to normal');
    },
  });
  expectEveryEventKeptOnce(figures);
});
