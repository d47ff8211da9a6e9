import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type RunningPlanner, startPlanner } from '../src/index.js';
import { StreamRegistry } from '../src/stream-registry.js';
import {
  ADMIN_TOKEN,
  eventually,
  flavor,
  generalToken,
  type OpenStream,
  openPressureStream,
  plannerConfig,
  useDatabase,
} from './support.js';

const fixture = useDatabase('planner_stream_limits');
const LIFETIME_MS = 1_000;
/** Streams end after about LIFETIME_MS. */
let planner: RunningPlanner;
const opened: OpenStream[] = [];

beforeAll(async () => {
  planner = await startPlanner(
    plannerConfig(fixture.url, fixture.prefix, { PRESSURE_STREAM_MAX_AGE: `${LIFETIME_MS}ms` }),
    { host: '127.0.0.1' },
  );
});

afterEach(async () => {
  for (const stream of opened.splice(0)) stream.close();
  await eventually(() => planner.app.pressureHub.size === 0 && planner.app.pressureStreams.size === 0);
});

afterAll(async () => {
  await planner?.close();
});

async function open(name: string, token = ADMIN_TOKEN): Promise<OpenStream> {
  const stream = await openPressureStream(planner.url, name, token);
  opened.push(stream);
  return stream;
}

describe('stream lifetime (PRESSURE_STREAM_MAX_AGE)', () => {
  it('ends every stream cleanly between 90% and 100% of it, each at its own time', async () => {
    await fixture.db.addFlavor(flavor('large'));
    const started = Date.now();
    const streams = await Promise.all([open('large'), open('large'), open('_')]);
    const ends = await Promise.all(
      streams.map(async (stream) => {
        expect(await stream.lines.next()).toBeDefined();
        expect(await stream.lines.end(LIFETIME_MS + 1_000)).toBe(true);
        // Finished by the planner, not cut: the client sees a complete response.
        expect(stream.lines.failed).toBe(false);
        return Date.now() - started;
      }),
    );
    for (const lived of ends) {
      expect(lived).toBeGreaterThanOrEqual(LIFETIME_MS * 0.9 - 20);
      expect(lived).toBeLessThan(LIFETIME_MS + 500);
    }
    expect(planner.app.pressureStreams.size).toBe(0);
    // The client's answer to an ended stream: open it again, and it works.
    const again = await open('large');
    expect([again.response.status, await again.lines.next()]).toEqual([200, '{"large":0}']);
  });
});

describe('revocation', () => {
  it('ends the streams of every token gone after a TRUNCATE, which cannot name them', async () => {
    await fixture.db.addFlavor(flavor('large'));
    const token = await generalToken(fixture.db, 'truncated');
    const byToken = await open('large', token);
    const byAdmin = await open('large');
    expect(await byToken.lines.next()).toBe('{"large":0}');
    expect(await byAdmin.lines.next()).toBe('{"large":0}');
    await fixture.sql.query('TRUNCATE auth_token');
    expect(await byToken.lines.end(1_000)).toBe(true);
    expect(byToken.lines.failed).toBe(false);
    // The admin token is not in the table: its stream goes on.
    expect(byAdmin.lines.ended).toBe(false);
  });

  it('does not start a stream whose token was deleted after it was checked', async () => {
    const registry = new StreamRegistry({ db: fixture.db, perToken: 5, total: 5 });
    const ended: string[] = [];
    try {
      await generalToken(fixture.db, 'late');
      await generalToken(fixture.db, 'kept');
      const late = { kind: 'token', name: 'late', scope: 'general' } as const;
      const kept = { kind: 'token', name: 'kept', scope: 'general' } as const;
      expect(registry.admit(late, { end: () => ended.push('late') })).toBeUndefined();
      expect(registry.admit(kept, { end: () => ended.push('kept') })).toBeUndefined();
      // Deleted between the request's authentication and the stream's start, maybe before the
      // LISTEN connection was up: `confirm` looks again once it is.
      await fixture.db.deleteAuthToken('late');
      expect(await registry.confirm(late)).toBe(false);
      expect(await registry.confirm(kept)).toBe(true);
      // Listening now: a deletion ends the streams registered under the name.
      await fixture.db.deleteAuthToken('kept');
      await expect.poll(() => ended, { interval: 20, timeout: 1_000 }).toContain('kept');
    } finally {
      await registry.close();
    }
  });

  it('counts per token and in all, and gives places back on release', async () => {
    const registry = new StreamRegistry({ db: fixture.db, perToken: 2, total: 3 });
    const admin = { kind: 'admin' } as const;
    const token = { kind: 'token', name: 'counted', scope: 'read-only' } as const;
    const streams = Array.from({ length: 4 }, () => ({ end: () => {} }));
    try {
      expect(registry.admit(admin, streams[0] as { end(): void })).toBeUndefined();
      expect(registry.admit(admin, streams[1] as { end(): void })).toBeUndefined();
      expect(registry.admit(admin, streams[2] as { end(): void })).toBe('token');
      expect(registry.admit(token, streams[2] as { end(): void })).toBeUndefined();
      expect(registry.admit(token, streams[3] as { end(): void })).toBe('total');
      registry.release(streams[0] as { end(): void });
      registry.release(streams[0] as { end(): void });
      expect(registry.size).toBe(2);
      expect(registry.admit(token, streams[3] as { end(): void })).toBeUndefined();
    } finally {
      await registry.close();
    }
  });
});
