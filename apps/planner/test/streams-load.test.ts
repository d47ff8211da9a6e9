import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningPlanner, startPlanner } from '../src/index.js';
import { ADMIN_TOKEN, eventually, flavor, job, plannerConfig, useDatabase } from './support.js';

const STREAMS = 1_000;

const fixture = useDatabase('planner_streams_load');
let planner: RunningPlanner;
const agent = new http.Agent({ keepAlive: false, maxSockets: STREAMS + 10 });

beforeAll(async () => {
  // 1,000 streams from one address with one token would otherwise meet the per-address rate
  // limit and the stream caps.
  const env = {
    PLANNER_RATE_LIMIT: '0',
    PRESSURE_STREAMS_PER_TOKEN: String(STREAMS),
    PRESSURE_STREAMS_MAX: String(STREAMS),
  };
  planner = await startPlanner(plannerConfig(fixture.url, fixture.prefix, env), { host: '127.0.0.1' });
});

afterAll(async () => {
  await planner?.close();
  agent.destroy();
});

interface RawStream {
  status: number | undefined;
  lines: string[];
  ended: boolean;
  request: http.ClientRequest;
}

function openRaw(baseUrl: string, name: string): Promise<RawStream> {
  const url = new URL(`${baseUrl}/api/v1/flavors/${name}/pressure?stream=true`);
  return new Promise((resolve, reject) => {
    const request = http.request(
      {
        host: url.hostname,
        port: url.port,
        path: `${url.pathname}${url.search}`,
        agent,
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      },
      (response) => {
        const stream: RawStream = { status: response.statusCode, lines: [], ended: false, request };
        let buffer = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          buffer += chunk;
          let newline = buffer.indexOf('\n');
          while (newline !== -1) {
            stream.lines.push(buffer.slice(0, newline));
            buffer = buffer.slice(newline + 1);
            newline = buffer.indexOf('\n');
          }
        });
        response.on('close', () => {
          stream.ended = true;
        });
        response.on('error', () => {});
        resolve(stream);
      },
    );
    request.on('error', reject);
    request.end();
  });
}

describe('1,000 concurrent pressure streams on one planner process', () => {
  it('share one LISTEN connection and one read per change, and every stream gets the change', async () => {
    await fixture.db.addFlavor(flavor('large'));
    await fixture.db.addFlavor(flavor('small'));
    const streams: RawStream[] = [];
    // In batches, so the listen backlog is not what is being measured.
    for (let batch = 0; batch < STREAMS / 100; batch += 1) {
      const names = Array.from({ length: 100 }, (_, i) => (i % 10 === 0 ? '_' : 'large'));
      streams.push(...(await Promise.all(names.map((name) => openRaw(planner.url, name)))));
    }
    try {
      expect(streams.every((stream) => stream.status === 200)).toBe(true);
      expect(await eventually(() => streams.every((stream) => stream.lines.length >= 1), 10_000)).toBe(true);
      const single = streams.filter((_, i) => i % 10 !== 0);
      const all = streams.filter((_, i) => i % 10 === 0);
      for (const stream of single) expect(stream.lines).toEqual(['{"large":0}']);
      for (const stream of all) expect(stream.lines).toEqual(['{"large":0,"small":0}']);

      const hub = planner.app.pressureHub;
      expect(hub.size).toBe(STREAMS);
      expect(await fixture.sql.listenerConnections()).toBe(1);

      const readsBefore = hub.reads;
      const started = Date.now();
      await fixture.db.addJob(job(['large']));
      expect(await eventually(() => streams.every((stream) => stream.lines.length >= 2), 5_000)).toBe(true);
      const elapsed = Date.now() - started;
      for (const stream of single) expect(stream.lines[1]).toBe('{"large":1}');
      for (const stream of all) expect(stream.lines[1]).toBe('{"large":1,"small":0}');
      expect(elapsed).toBeLessThan(2_000);
      // One notification, one read (two at most, should a refresh coincide) for all 1,000 streams.
      expect(hub.reads - readsBefore).toBeGreaterThanOrEqual(1);
      expect(hub.reads - readsBefore).toBeLessThanOrEqual(2);

      // A change to a flavor only the "_" streams watch.
      await fixture.db.addJob(job(['small']));
      expect(await eventually(() => all.every((stream) => stream.lines.length >= 3), 5_000)).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 300));
      for (const stream of single) expect(stream.lines).toHaveLength(2);
      expect(await fixture.sql.listenerConnections()).toBe(1);
    } finally {
      for (const stream of streams) stream.request.destroy();
    }
    expect(await eventually(() => planner.app.pressureHub.size === 0, 10_000)).toBe(true);
    expect(planner.app.pressureHub.active).toBe(false);
    expect(await fixture.sql.listenerConnections()).toBeLessThanOrEqual(1);
  }, 60_000);
});
