import { afterEach, describe, expect, it } from 'vitest';
import {
  NdjsonSplitter,
  NotFoundError,
  PlannerClient,
  PlannerError,
  UnauthorizedError,
} from '../src/index.js';
import {
  type FakePlanner,
  fails,
  line,
  ndjson,
  startFakePlanner,
  streams,
  streamsThenDrops,
} from './fake-planner.js';
import { record, sleep, within } from './support.js';

const TOKEN = 'planner_v0_abcdefghij0123456789';
const FAST = { minBackoffMs: 20, maxBackoffMs: 200 };

const servers: FakePlanner[] = [];
const controllers: AbortController[] = [];

async function fake(port?: number): Promise<FakePlanner> {
  const server = await startFakePlanner(port);
  servers.push(server);
  return server;
}

function stopper(): AbortController {
  const controller = new AbortController();
  controllers.push(controller);
  return controller;
}

afterEach(async () => {
  for (const controller of controllers.splice(0)) controller.abort();
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

describe('NdjsonSplitter', () => {
  it('joins lines split across chunks and splits chunks holding several lines', () => {
    const splitter = new NdjsonSplitter();
    const bytes = (text: string) => new TextEncoder().encode(text);
    expect(splitter.push(bytes('{"a":'))).toEqual([]);
    expect(splitter.push(bytes('1}\n{"a":2}\n{"a"'))).toEqual(['{"a":1}', '{"a":2}']);
    expect(splitter.push(bytes(':3}\r\n\n\n'))).toEqual(['{"a":3}']);
    // A multi-byte character cut between two chunks.
    const encoded = bytes('{"é":4}\n');
    expect(splitter.push(encoded.subarray(0, 3))).toEqual([]);
    expect(splitter.push(encoded.subarray(3))).toEqual(['{"é":4}']);
    expect(splitter.push('{"a":5}')).toEqual([]);
    expect(splitter.end()).toEqual(['{"a":5}']);
    expect(splitter.end()).toEqual([]);
  });
});

describe('PlannerClient.streamPressure against a scripted server', () => {
  it('parses partial and grouped lines, yields the first value and then only changes', async () => {
    const server = await fake();
    server.script(
      streams([
        '{"small"',
        ': 1}\n',
        line({ small: 1 }) + line({ small: 1 }),
        line({ small: 2 }) + line({ small: 2 }) + line({ small: 3 }),
        line({ small: 3 }),
        'not json\n["an array"]\n{"small":"three"}\n',
        line({ small: 0 }),
      ]),
    );
    const client = new PlannerClient({ baseUrl: server.url, token: TOKEN });
    const controller = stopper();
    const stream = record(client.streamPressure('small', { signal: controller.signal, ...FAST }));
    await expect.poll(() => stream.values).toEqual([{ small: 1 }, { small: 2 }, { small: 3 }, { small: 0 }]);
    await sleep(100);
    expect(stream.values).toHaveLength(4);
    expect(server.requests).toHaveLength(1);
    const [request] = server.requests;
    expect(request?.url).toBe('/api/v1/flavors/small/pressure?stream=true');
    expect(request?.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(request?.headers.accept).toBe('application/x-ndjson');
  });

  it('follows every flavor with "_" and compares whole snapshots', async () => {
    const server = await fake();
    server.script(
      streams([
        line({ a: 1, b: 2 }),
        line({ b: 2, a: 1 }),
        line({ a: 1, b: 2, c: 0 }),
        line({ a: 1, b: 2, c: 0 }),
        line({ a: 1, c: 0 }),
      ]),
    );
    const client = new PlannerClient({ baseUrl: `${server.url}/`, token: TOKEN });
    const controller = stopper();
    const stream = record(client.streamPressure('_', { signal: controller.signal }));
    await expect
      .poll(() => stream.values)
      .toEqual([
        { a: 1, b: 2 },
        { a: 1, b: 2, c: 0 },
        { a: 1, c: 0 },
      ]);
    expect(server.requests[0]?.url).toBe('/api/v1/flavors/_/pressure?platform=all&stream=true');
  });

  it('reconnects when the connection drops, yielding after it only what changed', async () => {
    const server = await fake();
    server.script(
      streamsThenDrops([line({ small: 1 }), line({ small: 2 })]),
      streamsThenDrops([line({ small: 2 }), line({ small: 2 })]),
      streams([line({ small: 2 }), line({ small: 5 })]),
    );
    const client = new PlannerClient({ baseUrl: server.url, token: TOKEN });
    const reasons: unknown[] = [];
    const controller = stopper();
    const stream = record(
      client.streamPressure('small', {
        signal: controller.signal,
        ...FAST,
        onReconnect: (reason) => reasons.push(reason),
      }),
    );
    await expect.poll(() => stream.values).toEqual([{ small: 1 }, { small: 2 }, { small: 5 }]);
    expect(server.requests).toHaveLength(3);
    expect(reasons).toHaveLength(2);
    expect(stream.isEnded()).toBe(false);
  });

  it('reconnects when the server ends the response cleanly', async () => {
    const server = await fake();
    server.script(
      (_request, response) => {
        ndjson(response).end(line({ small: 1 }));
      },
      streams([line({ small: 1 }), line({ small: 4 })]),
    );
    const client = new PlannerClient({ baseUrl: server.url, token: TOKEN });
    const controller = stopper();
    const stream = record(client.streamPressure('small', { signal: controller.signal, ...FAST }));
    await expect.poll(() => stream.values).toEqual([{ small: 1 }, { small: 4 }]);
    expect(server.requests).toHaveLength(2);
  });

  it('retries 5xx answers with growing delays, and resets the backoff once connected', async () => {
    const server = await fake();
    server.script(
      fails(503, 'database unavailable'),
      fails(503, 'database unavailable'),
      fails(500, 'boom'),
      streamsThenDrops([line({ small: 1 })]),
      streams([line({ small: 1 }), line({ small: 2 })]),
    );
    const client = new PlannerClient({ baseUrl: server.url, token: TOKEN });
    const reconnects: { reason: unknown; delay: number }[] = [];
    const controller = stopper();
    const stream = record(
      client.streamPressure('small', {
        signal: controller.signal,
        minBackoffMs: 40,
        maxBackoffMs: 2_000,
        onReconnect: (reason, delay) => reconnects.push({ reason, delay }),
      }),
    );
    await expect.poll(() => stream.values, { timeout: 5_000 }).toEqual([{ small: 1 }, { small: 2 }]);
    expect(reconnects.map(({ reason }) => (reason as PlannerError).status)).toEqual([
      503,
      503,
      500,
      undefined,
    ]);
    const [first, second, third, afterSuccess] = reconnects.map(({ delay }) => delay);
    // Jittered between half and all of min·2^n: 20–40, 40–80, 80–160, then 20–40 again.
    expect(first).toBeGreaterThanOrEqual(20);
    expect(first).toBeLessThanOrEqual(40);
    expect(second).toBeGreaterThanOrEqual(40);
    expect(third).toBeGreaterThanOrEqual(80);
    expect(third).toBeLessThanOrEqual(160);
    expect(afterSuccess).toBeLessThanOrEqual(40);
    expect(reconnects[0]!.reason).toMatchObject({ message: 'database unavailable' });
  });

  it('keeps retrying while nothing listens, and connects once the planner is back on its port', async () => {
    const first = await fake();
    const port = first.port;
    first.script(streams([line({ small: 1 })]));
    const client = new PlannerClient({ baseUrl: first.url, token: TOKEN });
    const controller = stopper();
    const reasons: unknown[] = [];
    const stream = record(
      client.streamPressure('small', {
        signal: controller.signal,
        ...FAST,
        onReconnect: (reason) => reasons.push(reason),
      }),
    );
    await expect.poll(() => stream.values).toEqual([{ small: 1 }]);
    await first.close();
    await expect.poll(() => reasons.length).toBeGreaterThan(2);
    const second = await fake(port);
    second.script(streams([line({ small: 1 }), line({ small: 7 })]));
    await expect.poll(() => stream.values, { timeout: 5_000 }).toEqual([{ small: 1 }, { small: 7 }]);
    expect(stream.isEnded()).toBe(false);
  });

  it('reconnects a stream that went silent for longer than idleTimeoutMs', async () => {
    const server = await fake();
    server.script(streams([line({ small: 1 })]), streams([line({ small: 3 })]));
    const client = new PlannerClient({ baseUrl: server.url, token: TOKEN });
    const controller = stopper();
    const stream = record(
      client.streamPressure('small', { signal: controller.signal, ...FAST, idleTimeoutMs: 300 }),
    );
    await expect.poll(() => stream.values).toEqual([{ small: 1 }, { small: 3 }]);
    expect(server.requests.length).toBeGreaterThanOrEqual(2);
  });

  it('ends with UnauthorizedError on 401 and NotFoundError on 404, without retrying', async () => {
    const server = await fake();
    server.script(fails(401, 'unauthorized'));
    const client = new PlannerClient({ baseUrl: server.url, token: 'wrong' });
    const unauthorized = record(client.streamPressure('small', FAST));
    await expect(unauthorized.ended).rejects.toSatisfy(
      (error) =>
        error instanceof UnauthorizedError &&
        error instanceof PlannerError &&
        error.status === 401 &&
        error.message === 'unauthorized',
    );
    expect(server.requests).toHaveLength(1);

    server.script(fails(404, 'flavor not found'));
    const missing = client.streamPressure('nope', FAST);
    const error = await missing.next().catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(NotFoundError);
    expect((error as NotFoundError).message).toBe('flavor not found');
    expect(server.requests).toHaveLength(2);
    expect(await missing.next()).toEqual({ done: true, value: undefined });
  });

  it('ends on abort or return(), while streaming, connecting or backing off', async () => {
    const server = await fake();
    server.script(streams([line({ small: 1 })]));
    const client = new PlannerClient({ baseUrl: server.url, token: TOKEN });

    // Aborted while waiting for the next line.
    const controller = new AbortController();
    const stream = record(client.streamPressure('small', { signal: controller.signal }));
    await expect.poll(() => stream.values).toEqual([{ small: 1 }]);
    controller.abort();
    expect(await within(stream.ended, 1_000)).toBeUndefined();

    // return() while a next() is pending.
    const iterator = client.streamPressure('small');
    expect((await iterator.next()).value).toEqual({ small: 1 });
    const pending = iterator.next();
    await sleep(50);
    expect(await within(iterator.return(), 1_000)).toEqual({ done: true, value: undefined });
    expect(await within(pending, 1_000)).toEqual({ done: true, value: undefined });

    // Aborted during a long backoff.
    server.script(fails(503, 'down'));
    const backingOff = new AbortController();
    const retrying = record(
      client.streamPressure('small', {
        signal: backingOff.signal,
        minBackoffMs: 60_000,
        maxBackoffMs: 60_000,
      }),
    );
    await expect.poll(() => server.requests.length).toBe(3);
    backingOff.abort();
    expect(await within(retrying.ended, 1_000)).toBeUndefined();

    // An already aborted signal: nothing is requested.
    const before = server.requests.length;
    expect(await client.streamPressure('small', { signal: AbortSignal.abort() }).next()).toEqual({
      done: true,
      value: undefined,
    });
    expect(server.requests.length).toBe(before);
  });
});

describe('PlannerClient request errors', () => {
  it('maps error statuses to classes carrying the server text', async () => {
    const server = await fake();
    const client = new PlannerClient({ baseUrl: server.url, token: TOKEN });
    server.script(fails(500, 'failed to get flavor pressure: boom'));
    const error = await client.getPressure('small').catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(PlannerError);
    expect(error).not.toBeInstanceOf(NotFoundError);
    expect(error).toMatchObject({ status: 500, message: 'failed to get flavor pressure: boom' });
    expect((error as PlannerError).request).toBe('GET /api/v1/flavors/small/pressure');

    server.script(fails(502, ''));
    await expect(client.listTokens()).rejects.toMatchObject({ status: 502, message: 'planner answered 502' });
  });
});
