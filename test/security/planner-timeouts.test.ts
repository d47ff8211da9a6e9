import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { useSystem } from '../support/system.js';
import { allClosedWithin, sleep, slowClient } from './slow-client.js';

// Issue 12: the planner's server had no request, headers or idle timeout either. Its pressure
// streams are long answers to short requests: the timeouts must stop slow clients, not streams.
const system = useSystem('e2e_sec_planner_timeouts');
const ADMIN_TOKEN = `planner_v0_${randomBytes(15).toString('base64url').slice(0, 20)}`;

describe('planner against slow clients', () => {
  it('closes slow and silent requests at PLANNER_HEADERS_TIMEOUT / PLANNER_REQUEST_TIMEOUT; a pressure stream outlives them and PLANNER_IDLE_TIMEOUT', async () => {
    const planner = await system.start('planner', {
      ADMIN_TOKEN,
      PLANNER_REQUEST_TIMEOUT: '800ms',
      PLANNER_HEADERS_TIMEOUT: '400ms',
      PLANNER_IDLE_TIMEOUT: '1500ms',
      PRESSURE_HEARTBEAT_SECONDS: '1',
    });
    const stream = slowClient(
      planner.url,
      `GET /api/v1/flavors/_/pressure?stream=true HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${ADMIN_TOKEN}\r\n\r\n`,
    );
    const slowHeaders = slowClient(planner.url, 'GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    slowHeaders.trickle(100, 'X-Padding: slow\r\n');
    const slowBody = slowClient(
      planner.url,
      `POST /api/v1/flavors/slow HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${ADMIN_TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 10000\r\n\r\n{"platform":`,
    );
    slowBody.trickle(100, ' ');
    const silent = slowClient(planner.url);

    await allClosedWithin([slowHeaders, slowBody, silent], 6_000);
    expect(slowHeaders.received()).toMatch(/^HTTP\/1\.1 408 /);
    expect(slowHeaders.closedAfterMs()).toBeGreaterThanOrEqual(350);
    expect(slowBody.received()).toMatch(/^HTTP\/1\.1 408 /);
    expect(slowBody.closedAfterMs()).toBeGreaterThanOrEqual(750);
    expect(slowBody.closedAfterMs()).toBeLessThan(4_000);
    // Node counts the headers timeout from the connection: saying nothing is no way around it.
    expect(silent.received()).toMatch(/^HTTP\/1\.1 408 /);
    expect(silent.closedAfterMs()).toBeGreaterThanOrEqual(350);
    expect(silent.closedAfterMs()).toBeLessThan(3_000);

    // Past both timeouts and twice the idle timeout: the stream is open and still delivering.
    await sleep(Math.max(0, 3_200 - stream.ageMs()));
    expect(stream.closedAfterMs()).toBeUndefined();
    expect(stream.received()).toMatch(/^HTTP\/1\.1 200 /);
    const linesBefore = stream.received().split('\n').length;
    await sleep(1_200);
    expect(stream.closedAfterMs()).toBeUndefined();
    expect(stream.received().split('\n').length).toBeGreaterThan(linesBefore);
    stream.socket.destroy();
  });
});
