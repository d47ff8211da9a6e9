import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type RunningPlanner, startPlanner } from '../src/index.js';
import {
  ADMIN_TOKEN,
  eventually,
  flavor,
  generalToken,
  job,
  type OpenStream,
  openPressureStream,
  plannerConfig,
  useDatabase,
} from './support.js';

const fixture = useDatabase('planner_streams');
/** Heartbeat 30 s (the default): every line seen in a test is a change line. */
let planner: RunningPlanner;
/** Heartbeat 1 s. */
let fast: RunningPlanner;
const opened: OpenStream[] = [];

beforeAll(async () => {
  planner = await startPlanner(plannerConfig(fixture.url, fixture.prefix), { host: '127.0.0.1' });
  fast = await startPlanner(plannerConfig(fixture.url, fixture.prefix, { PRESSURE_HEARTBEAT_SECONDS: '1' }), {
    host: '127.0.0.1',
  });
});

afterEach(async () => {
  for (const stream of opened.splice(0)) stream.close();
  await eventually(() => planner.app.pressureHub.size === 0 && fast.app.pressureHub.size === 0);
});

afterAll(async () => {
  await Promise.all([planner?.close(), fast?.close()]);
});

async function open(
  target: RunningPlanner,
  name: string,
  token = ADMIN_TOKEN,
  query = '',
): Promise<OpenStream> {
  const stream = await openPressureStream(target.url, name, token, query);
  opened.push(stream);
  return stream;
}

const parse = (line: string | undefined) => (line === undefined ? undefined : JSON.parse(line));

describe('pressure streams over HTTP', () => {
  it('answers 200 application/x-ndjson with the current value at once', async () => {
    await fixture.db.addFlavor(flavor('large'));
    await fixture.db.addJob(job(['large']));
    const started = Date.now();
    const stream = await open(planner, 'large');
    expect(stream.response.status).toBe(200);
    expect(stream.response.headers.get('content-type')).toBe('application/x-ndjson');
    expect(stream.response.headers.get('cache-control')).toContain('no-cache');
    expect(await stream.lines.next(500)).toBe('{"large":1}');
    expect(Date.now() - started).toBeLessThan(500);
  });

  it('works with a general token', async () => {
    await fixture.db.addFlavor(flavor('large'));
    const token = await generalToken(fixture.db, 'autoscaler');
    const stream = await open(planner, 'large', token);
    expect(parse(await stream.lines.next())).toEqual({ large: 0 });
  });

  it('sends a line within a second of a change: a new job, then a webhook-equivalent completion', async () => {
    await fixture.db.addFlavor(flavor('large'));
    const stream = await open(planner, 'large');
    expect(parse(await stream.lines.next())).toEqual({ large: 0 });

    const queued = job(['large']);
    await fixture.db.addJob(queued);
    expect(parse(await stream.lines.next(1_000))).toEqual({ large: 1 });

    // What the worker writes for a `completed` workflow_job webhook.
    await fixture.db.updateJobCompleted('github', queued.id, new Date(), {
      completed: { action: 'completed' },
    });
    expect(parse(await stream.lines.next(1_000))).toEqual({ large: 0 });
  });

  it('sends a line when the API changes the value (disable, minimum pressure through re-creation)', async () => {
    await fixture.db.addFlavor(flavor('large', { labels: ['x'] }));
    await fixture.db.addFlavor(flavor('spare', { labels: ['x'], priority: -1 }));
    await fixture.db.addJob(job(['x']));
    const stream = await open(planner, 'large');
    expect(parse(await stream.lines.next())).toEqual({ large: 1 });
    await fetch(`${planner.url}/api/v1/flavors/large`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      body: JSON.stringify({ is_disabled: true }),
    });
    expect(parse(await stream.lines.next(1_000))).toEqual({ large: 0 });
  });

  it('sends nothing for changes to other flavors', async () => {
    await fixture.db.addFlavor(flavor('large', { labels: ['large'] }));
    await fixture.db.addFlavor(flavor('small', { labels: ['small'] }));
    const stream = await open(planner, 'large');
    expect(parse(await stream.lines.next())).toEqual({ large: 0 });

    const small = job(['small']);
    await fixture.db.addJob(small);
    await fixture.db.addJob(job(['small']));
    await fixture.db.addFlavor(flavor('other', { platform: 'gitlab', minimumPressure: 3 }));
    await fixture.db.updateJobCompleted('github', small.id, new Date());
    await fixture.db.deleteFlavor('gitlab', 'other');
    expect(await stream.lines.next(1_200)).toBeUndefined();

    // Still live: its own flavor's change comes through.
    await fixture.db.addJob(job(['large']));
    expect(parse(await stream.lines.next(1_000))).toEqual({ large: 1 });
  });

  it('repeats the current value as a heartbeat every PRESSURE_HEARTBEAT_SECONDS', async () => {
    await fixture.db.addFlavor(flavor('large'));
    await fixture.db.addJob(job(['large']));
    const stream = await open(fast, 'large');
    expect(await stream.lines.next()).toBe('{"large":1}');
    const first = Date.now();
    expect(await stream.lines.next(2_000)).toBe('{"large":1}');
    const second = Date.now();
    expect(second - first).toBeGreaterThan(800);
    expect(second - first).toBeLessThan(1_600);
    expect(await stream.lines.next(2_000)).toBe('{"large":1}');
    expect(Date.now() - second).toBeGreaterThan(800);
  });

  it('streams every flavor of every platform for "_" with ?platform=all', async () => {
    await fixture.db.addFlavor(flavor('a', { labels: ['a'] }));
    await fixture.db.addFlavor(flavor('b', { platform: 'gitlab', labels: ['docker'] }));
    const github = await open(planner, '_');
    const gitlab = await open(planner, '_', ADMIN_TOKEN, 'platform=gitlab');
    const stream = await open(planner, '_', ADMIN_TOKEN, 'platform=all');
    expect(await github.lines.next()).toBe('{"a":0}');
    expect(await gitlab.lines.next()).toBe('{"b":0}');
    expect(await stream.lines.next()).toBe('{"a":0,"b":0}');

    await fixture.db.addJob(job(['docker'], { platform: 'gitlab' }));
    expect(await stream.lines.next(1_000)).toBe('{"a":0,"b":1}');
    expect(await gitlab.lines.next(1_000)).toBe('{"b":1}');
    await fixture.db.addFlavor(flavor('c', { minimumPressure: 2 }));
    expect(await stream.lines.next(1_000)).toBe('{"a":0,"b":1,"c":2}');
    await fixture.db.deleteFlavor('github', 'a');
    expect(await stream.lines.next(1_000)).toBe('{"b":1,"c":2}');
    // A GitHub-only stream never saw the GitLab change: its next lines are its own flavors.
    expect(await github.lines.next(1_000)).toBe('{"a":0,"c":2}');
    expect(await github.lines.next(1_000)).toBe('{"c":2}');
  });

  it('ends a single-flavor stream when its flavor is deleted', async () => {
    await fixture.db.addFlavor(flavor('large'));
    const stream = await open(planner, 'large');
    expect(await stream.lines.next()).toBe('{"large":0}');
    const deleted = await fetch(`${planner.url}/api/v1/flavors/large`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(deleted.status).toBe(200);
    expect(await stream.lines.end(1_000)).toBe(true);
    expect(await eventually(() => planner.app.pressureHub.size === 0)).toBe(true);
  });

  it('answers a stream request for an unknown flavor 404, and a bad token 401', async () => {
    const missing = await open(planner, 'nope');
    expect(missing.response.status).toBe(404);
    expect(await missing.lines.next()).toBe('flavor not found');
    const unauthorized = await open(planner, '_', 'x'.repeat(43));
    expect(unauthorized.response.status).toBe(401);
    expect(planner.app.pressureHub.size).toBe(0);
  });

  it('shares one LISTEN connection between every stream of the process, and lets go of it when they close', async () => {
    await fixture.db.addFlavor(flavor('large'));
    await fixture.db.addFlavor(flavor('small'));
    const streams = await Promise.all([
      open(planner, 'large'),
      open(planner, 'small'),
      open(planner, '_'),
      open(fast, 'large'),
      open(fast, '_'),
    ]);
    for (const stream of streams) expect(await stream.lines.next()).toBeDefined();
    expect(planner.app.pressureHub.size).toBe(3);
    expect(fast.app.pressureHub.size).toBe(2);
    expect(await fixture.sql.listenerConnections()).toBe(1);

    for (const stream of streams) stream.close();
    expect(
      await eventually(
        () =>
          planner.app.pressureHub.size === 0 &&
          fast.app.pressureHub.size === 0 &&
          !planner.app.pressureHub.active &&
          !fast.app.pressureHub.active,
      ),
    ).toBe(true);
    expect(await fixture.sql.listenerConnections()).toBeLessThanOrEqual(1);
    // The hub drops its subscription with its last stream: the connection goes too.
    expect(await eventually(async () => (await fixture.sql.listenerConnections()) === 0)).toBe(true);

    // And a new stream brings exactly one back.
    const again = await open(planner, 'large');
    expect(await again.lines.next()).toBe('{"large":0}');
    expect(await fixture.sql.listenerConnections()).toBe(1);
  });

  it('counts open streams on /metrics', async () => {
    await fixture.db.addFlavor(flavor('large'));
    const stream = await open(planner, 'large');
    await stream.lines.next();
    const metrics = await (await fetch(`${planner.url}/metrics`)).text();
    expect(metrics).toMatch(/^runner_planner_pressure_streams 1$/m);
  });
});

describe('closing the planner', () => {
  it('ends the open streams and closes promptly', async () => {
    const own = await startPlanner(plannerConfig(fixture.url, fixture.prefix), { host: '127.0.0.1' });
    await fixture.db.addFlavor(flavor('large'));
    const stream = await openPressureStream(own.url, 'large');
    expect(await stream.lines.next()).toBe('{"large":0}');
    const started = Date.now();
    await Promise.all([own.close(), own.close()]);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(await stream.lines.end(1_000)).toBe(true);
    expect(own.app.pressureHub.size).toBe(0);
    await expect(fetch(`${own.url}/health`)).rejects.toThrow();
  });
});
