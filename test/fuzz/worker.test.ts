import { createHmac, randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppProcess } from '../support/apps.js';
import { useSystem } from '../support/system.js';
import { GITHUB_SECRET, GITLAB_WEBHOOK_TOKEN } from '../support/webhooks.js';
import { type MalformedDelivery, malformedDelivery } from './malformed-payloads.js';
import { GC_ON_SIGNAL_ENV, mebibytes, sampleMemory } from './process-memory.js';
import { keepAliveAgent, postRaw } from './raw-http.js';
import { FUZZ_RUNS, FUZZ_SEED, HEAP_TOLERANCE_BYTES, RSS_TOLERANCE_BYTES } from './settings.js';

const system = useSystem('e2e_fuzz_worker');
const agent = keepAliveAgent();
const IN_FLIGHT = 16;
let gateway: AppProcess;
let worker: AppProcess;

beforeAll(async () => {
  // Some generated defects share a body; each is sent to be dead-lettered, so no replay check.
  gateway = await system.start('gateway', { GATEWAY_REPLAY_WINDOW: '0' });
  // Every dead letter is checked at the end, so none may be trimmed (5,000 by default).
  worker = await system.start('worker', {
    ...GC_ON_SIGNAL_ENV,
    DEAD_LETTER_MAX_COUNT: String(2 * FUZZ_RUNS + 1_000),
  });
});

afterAll(() => agent.destroy());

function credentials(delivery: MalformedDelivery, id: string): [string, string][] {
  if (delivery.platform === 'github') {
    const signature = createHmac('sha256', GITHUB_SECRET).update(delivery.body).digest('hex');
    return [
      ['x-hub-signature-256', `sha256=${signature}`],
      ['x-github-event', delivery.event],
      ['x-github-delivery', id],
    ];
  }
  return [
    ['x-gitlab-token', GITLAB_WEBHOOK_TOKEN],
    ['x-gitlab-event', delivery.event],
    ['x-gitlab-event-uuid', id],
  ];
}

/** The words a dead-letter reason must contain to say what is wrong with the delivery. */
function expectedReason(defect: string): RegExp {
  const what = defect.split(': ')[1] ?? '';
  const known: Record<string, RegExp> = {
    'truncated JSON': /not valid JSON/,
    'JSON but not an object': /must be a JSON object/,
    'blank body': /is empty/,
    'unsupported content type': /unsupported content type/,
    'form body without a payload field': /no "payload" field/,
  };
  // Field defects are named after the field, which the reason must name too.
  return known[what] ?? new RegExp(`\\b${(what.split(' ')[0] ?? '').replace('.', '\\.')}\\b`);
}

/** Sends every delivery through the gateway (each must be accepted) and returns job id → defect. */
async function sendAll(deliveries: MalformedDelivery[]): Promise<Map<string, string>> {
  const sent = new Map<string, string>();
  for (let start = 0; start < deliveries.length; start += IN_FLIGHT) {
    await Promise.all(
      deliveries.slice(start, start + IN_FLIGHT).map(async (delivery) => {
        const id = randomUUID();
        const response = await postRaw(
          agent,
          `${gateway.url}/webhooks/${delivery.platform}`,
          [['content-type', delivery.contentType], ...credentials(delivery, id)],
          Buffer.from(delivery.body, 'utf8'),
        );
        expect(response.status, `${delivery.defect}: ${response.body}`).toBe(202);
        expect(JSON.parse(response.body)).toEqual({ result: 'enqueued' });
        sent.set(`${delivery.platform}-${id}`, delivery.defect);
      }),
    );
  }
  return sent;
}

/** Waits for every sent delivery to be dead-lettered, then checks each one's state and reason. */
async function expectAllDeadLettered(
  sent: Map<string, string>,
  failedBefore: number,
): Promise<Map<string, number>> {
  await expect
    .poll(async () => (await system.queue.getJobCounts('failed')).failed, { timeout: 300_000, interval: 500 })
    .toBe(failedBefore + sent.size);
  const counts = await system.queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'completed');
  expect(counts).toMatchObject({ waiting: 0, active: 0, delayed: 0, prioritized: 0, completed: 0 });

  const byDefect = new Map<string, number>();
  const seen = new Set<string>();
  const PAGE = 1_000;
  for (let start = 0; start < failedBefore + sent.size; start += PAGE) {
    for (const job of await system.queue.getFailed(start, start + PAGE - 1)) {
      const defect = job.id === undefined ? undefined : sent.get(job.id);
      if (defect === undefined) continue;
      seen.add(job.id as string);
      // Dead-lettered at once: a payload that can never be processed is not retried for a day.
      expect(job.attemptsMade, `${job.id} (${defect}) was retried`).toBe(1);
      expect(job.failedReason, `${job.id} (${defect})`).toMatch(expectedReason(defect));
      byDefect.set(defect, (byDefect.get(defect) ?? 0) + 1);
    }
  }
  expect(seen.size, 'deliveries missing from the dead letters').toBe(sent.size);
  return byDefect;
}

describe('signed but malformed payloads through gateway and worker', () => {
  it(`dead-letters ${FUZZ_RUNS} of them with a reason, loses none, and the worker stays up and flat`, async () => {
    const started = Date.now();
    const all = fc.sample(malformedDelivery(), {
      numRuns: Math.max(200, Math.floor(FUZZ_RUNS / 10)) + FUZZ_RUNS,
      ...(FUZZ_SEED === undefined ? {} : { seed: FUZZ_SEED }),
    });
    const warmUp = all.slice(0, all.length - FUZZ_RUNS);
    await expectAllDeadLettered(await sendAll(warmUp), 0);
    const before = await sampleMemory(worker);

    // Sent in rounds with a sample after each, so a trend can be told from a one-off step.
    const rounds = 5;
    const measured = all.slice(warmUp.length);
    const roundSize = Math.ceil(measured.length / rounds);
    const samples = [before];
    const byDefect = new Map<string, number>();
    for (let round = 0; round < rounds; round += 1) {
      const slice = measured.slice(round * roundSize, (round + 1) * roundSize);
      const failedBefore = warmUp.length + round * roundSize;
      for (const [defect, count] of await expectAllDeadLettered(await sendAll(slice), failedBefore)) {
        byDefect.set(defect, (byDefect.get(defect) ?? 0) + count);
      }
      samples.push(await sampleMemory(worker));
    }
    const after = samples.at(-1) ?? before;
    expect(worker.child.exitCode).toBeNull();
    expect((await fetch(`${worker.url}/health`)).status).toBe(200);
    expect(gateway.child.exitCode).toBeNull();

    console.info(
      [
        `worker fuzz: ${FUZZ_RUNS} malformed deliveries (+ ${warmUp.length} warm-up) dead-lettered in ${((Date.now() - started) / 1000).toFixed(1)} s`,
        `worker memory after a full GC, after warm-up then after each round (RSS / live heap): ${samples
          .map((sample) => `${mebibytes(sample.rss)} / ${mebibytes(sample.heapUsed)}`)
          .join(', ')} (tolerance +${mebibytes(RSS_TOLERANCE_BYTES)} / +${mebibytes(HEAP_TOLERANCE_BYTES)})`,
        ...[...byDefect].sort().map(([defect, count]) => `  ${count}\t${defect}`),
      ].join('\n'),
    );
    expect(after.rss - before.rss).toBeLessThan(RSS_TOLERANCE_BYTES);
    expect(after.heapUsed - before.heapUsed).toBeLessThan(HEAP_TOLERANCE_BYTES);
  });
});
