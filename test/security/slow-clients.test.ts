import { describe, expect, it } from 'vitest';
import { residentBytes } from '../fuzz/process-memory.js';
import { useSystem } from '../support/system.js';
import { sendGitHub, workflowJobExamples } from '../support/webhooks.js';
import { allClosedWithin, githubRequestStart, type SlowClient, sleep, slowClient } from './slow-client.js';

// Issue 12: 300 connections with a signature-shaped header and half a body were all still open
// after 60 s, each holding what it had sent. Timeouts and the cap are set small here so the test
// is fast; the defaults are in the README.
const system = useSystem('e2e_sec_slow_clients');

/** Under the 512 KiB GitHub body limit, so only the timeouts and the cap can stop these clients. */
const BODY = 500_000;
const ATTACKERS = 300;

const openCount = (clients: SlowClient[]) => clients.filter((c) => c.closedAfterMs() === undefined).length;

async function validWebhookAccepted(url: string): Promise<void> {
  const [example] = workflowJobExamples();
  const response = await sendGitHub(url, {
    ...example,
    workflow_job: { ...example?.workflow_job, id: Math.floor(Math.random() * 1e9) },
  });
  expect(response.status).toBe(202);
}

describe('gateway against slow clients', () => {
  it('answers 408 and closes 300 connections still sending their body at GATEWAY_REQUEST_TIMEOUT, and headers never finished at GATEWAY_HEADERS_TIMEOUT', async () => {
    const gateway = await system.start('gateway', {
      GATEWAY_REQUEST_TIMEOUT: '800ms',
      GATEWAY_HEADERS_TIMEOUT: '400ms',
      // Longer than the test: only the request and headers timeouts may close these connections.
      GATEWAY_IDLE_TIMEOUT: '30s',
      GATEWAY_MAX_CONNECTIONS: '1000',
    });
    // Half a body (a small one: what is measured here is time), then a byte every 100 ms: never
    // idle, never done.
    const bodies = Array.from({ length: ATTACKERS }, () =>
      slowClient(gateway.url, githubRequestStart(64_000, 32_000)),
    );
    for (const client of bodies) client.trickle(100);
    // Headers that never end, a line every 100 ms.
    const headers = slowClient(gateway.url, 'POST /webhooks/github HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    headers.trickle(100, 'X-Padding: slow\r\n');

    await sleep(300);
    expect(openCount(bodies)).toBe(ATTACKERS);
    await allClosedWithin([...bodies, headers], 6_000);

    const times = bodies.map((client) => client.closedAfterMs() ?? Number.POSITIVE_INFINITY);
    expect(Math.min(...times)).toBeGreaterThanOrEqual(700);
    // The timeout plus Node's check interval (headers timeout / 4), and a loaded machine's slack.
    expect(Math.max(...times)).toBeLessThan(4_000);
    // Each got 408, unless the reset that closes a connection with unread bytes beat the answer.
    const answers = new Set(bodies.map((client) => client.received().slice(0, 28)));
    expect([...answers].filter((answer) => answer !== '' && !answer.startsWith('HTTP/1.1 408 '))).toEqual([]);
    expect(bodies.filter((client) => client.received().startsWith('HTTP/1.1 408 ')).length).toBeGreaterThan(
      0,
    );
    expect(headers.received()).toMatch(/^HTTP\/1\.1 408 /);
    expect(headers.closedAfterMs()).toBeGreaterThanOrEqual(350);
    expect(headers.closedAfterMs()).toBeLessThan(3_000);

    await validWebhookAccepted(gateway.url);
  });

  it('keeps at most GATEWAY_MAX_CONNECTIONS of 300 such connections, so buffered bodies stay bounded, and closes idle ones', async () => {
    const cap = 50;
    const gateway = await system.start('gateway', {
      GATEWAY_MAX_CONNECTIONS: String(cap),
      GATEWAY_IDLE_TIMEOUT: '1s',
      GATEWAY_REQUEST_TIMEOUT: '20s',
    });
    const pid = gateway.child.pid;
    const before = residentBytes(pid);

    // Almost the whole body, then a byte now and then: each accepted one holds ~0.5 MB.
    const attackers = Array.from({ length: ATTACKERS }, () =>
      slowClient(gateway.url, githubRequestStart(BODY, BODY - 1_000)),
    );
    for (const client of attackers) client.trickle(300);
    let peak = before;
    const deadline = Date.now() + 1_500;
    while (Date.now() < deadline) {
      peak = Math.max(peak, residentBytes(pid));
      await sleep(50);
    }
    const open = openCount(attackers);
    expect(open).toBeGreaterThan(0);
    expect(open).toBeLessThanOrEqual(cap);
    // The ones over the cap were closed on arrival, without an answer.
    const dropped = attackers.filter((client) => client.closedAfterMs() !== undefined);
    expect(dropped.length).toBeGreaterThanOrEqual(ATTACKERS - cap);
    expect(dropped.filter((client) => client.received() !== '')).toEqual([]);
    // 300 × 0.5 MB held would be 143 MiB; 50 are at most 24 MiB (plus what V8 keeps).
    expect((peak - before) / 2 ** 20).toBeLessThan(64);

    for (const client of attackers) client.socket.destroy();
    await Promise.all(attackers.map((client) => client.closed));
    // A connection that sends nothing is closed at GATEWAY_IDLE_TIMEOUT.
    await sleep(100);
    const silent = slowClient(gateway.url);
    await allClosedWithin([silent], 6_000);
    expect(silent.closedAfterMs()).toBeGreaterThanOrEqual(900);
    expect(silent.closedAfterMs()).toBeLessThan(4_000);

    await validWebhookAccepted(gateway.url);
  });
});
