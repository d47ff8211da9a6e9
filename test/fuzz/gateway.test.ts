import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppProcess } from '../support/apps.js';
import { useSystem } from '../support/system.js';
import { FUZZ_BODY_LIMIT, type GatewayCase, gatewayCase } from './gateway-requests.js';
import { GC_ON_SIGNAL_ENV, mebibytes, sampleMemory } from './process-memory.js';
import { keepAliveAgent, postRaw } from './raw-http.js';
import { FUZZ_RUNS, FUZZ_SEED, HEAP_TOLERANCE_BYTES, RSS_TOLERANCE_BYTES } from './settings.js';

const system = useSystem('e2e_fuzz_gateway');
const agent = keepAliveAgent();
const HEALTH_EVERY = 250;
let gateway: AppProcess;

beforeAll(async () => {
  gateway = await system.start('gateway', {
    ...GC_ON_SIGNAL_ENV,
    GATEWAY_BODY_LIMIT: String(FUZZ_BODY_LIMIT),
    // Thousands of bad signatures from one address are this test's point, not an attack.
    GATEWAY_AUTH_FAILURE_LIMIT: '1000000',
  });
});

afterAll(() => agent.destroy());

async function healthy(): Promise<boolean> {
  if (gateway.child.exitCode !== null || gateway.child.signalCode !== null) return false;
  const response = await fetch(`${gateway.url}/health`);
  return response.status === 200 && ((await response.json()) as { status: string }).status === 'ok';
}

/** Sends `runs` generated requests; each must get the status its class is specified to get. */
async function fuzz(runs: number, seed: number | undefined, tally: Map<string, number>): Promise<void> {
  let sent = 0;
  await fc.assert(
    fc.asyncProperty(gatewayCase(), async (request: GatewayCase) => {
      const path = `/webhooks/${request.platform}`;
      const response = await postRaw(agent, `${gateway.url}${path}`, request.headers, request.body);
      sent += 1;
      const label = `${request.kind} → ${response.status}`;
      tally.set(label, (tally.get(label) ?? 0) + 1);
      if (sent % HEALTH_EVERY === 0)
        expect(await healthy(), `gateway unhealthy after ${sent} requests`).toBe(true);
      expect(response.status, `${request.kind}: ${response.body}`).toBeLessThan(500);
      expect(response.status, `${request.kind}: ${response.body}`).toBe(request.expected);
    }),
    { numRuns: runs, ...(seed === undefined ? {} : { seed }), endOnFailure: true },
  );
}

describe('the gateway under generated requests', () => {
  it(`answers ${FUZZ_RUNS} random, mutated and forged requests as specified, without crashing or growing`, async () => {
    const started = Date.now();
    const warmUp = new Map<string, number>();
    await fuzz(Math.max(200, Math.floor(FUZZ_RUNS / 10)), FUZZ_SEED, warmUp);
    const before = await sampleMemory(gateway);

    const tally = new Map<string, number>();
    await fuzz(FUZZ_RUNS, FUZZ_SEED === undefined ? undefined : FUZZ_SEED + 1, tally);
    expect(await healthy()).toBe(true);
    const after = await sampleMemory(gateway);

    const byStatus = new Map<number, number>();
    for (const [label, count] of tally) {
      const status = Number(label.split('→ ')[1]);
      byStatus.set(status, (byStatus.get(status) ?? 0) + count);
    }
    // The figures docs/security.md quotes come from this line of a `pnpm test:fuzz` run.
    console.info(
      [
        `gateway fuzz: ${FUZZ_RUNS} requests (+ warm-up) in ${((Date.now() - started) / 1000).toFixed(1)} s`,
        `statuses: ${JSON.stringify(Object.fromEntries([...byStatus].sort()))}`,
        `after a full GC, RSS ${mebibytes(before.rss)} → ${mebibytes(after.rss)} (tolerance +${mebibytes(RSS_TOLERANCE_BYTES)}), live heap ${mebibytes(before.heapUsed)} → ${mebibytes(after.heapUsed)} (tolerance +${mebibytes(HEAP_TOLERANCE_BYTES)})`,
        ...[...tally].sort().map(([label, count]) => `  ${count}\t${label}`),
      ].join('\n'),
    );
    // Every class was exercised, so a generator that stopped producing one would be noticed.
    for (const status of [200, 202, 401, 413, 415]) expect(byStatus.get(status) ?? 0).toBeGreaterThan(0);
    expect(after.rss - before.rss).toBeLessThan(RSS_TOLERANCE_BYTES);
    expect(after.heapUsed - before.heapUsed).toBeLessThan(HEAP_TOLERANCE_BYTES);
  });
});
