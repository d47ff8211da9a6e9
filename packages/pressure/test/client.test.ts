import { describe, expect, it } from 'vitest';
import {
  BadRequestError,
  ConflictError,
  NotFoundError,
  PlannerClient,
  PlannerError,
  UnauthorizedError,
} from '../src/index.js';
import { ADMIN_TOKEN, closePlanner, usePlanner } from './planner-fixture.js';
import { job, record, sleep, within } from './support.js';

const fixture = usePlanner('pressure_client');

function admin(): PlannerClient {
  return new PlannerClient({ baseUrl: fixture.planner.url, token: ADMIN_TOKEN });
}

async function errorOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (error: unknown) => error,
  );
}

describe('PlannerClient against a running planner', () => {
  it('creates, reads, lists, disables, enables and deletes flavors', async () => {
    const client = admin();
    await client.createFlavor({ name: 'small', platform: 'github', labels: ['X64', 'small'] });
    await client.createFlavor({
      name: 'big',
      platform: 'gitlab',
      labels: ['big'],
      priority: 5,
      isDisabled: true,
      minimumPressure: 2,
    });
    expect(await client.getFlavor('small')).toEqual({
      name: 'small',
      platform: 'github',
      labels: ['x64', 'small'],
      priority: 0,
      isDisabled: false,
      minimumPressure: 0,
    });
    expect(await client.listFlavors()).toEqual([
      { name: 'big', platform: 'gitlab', labels: ['big'], priority: 5, isDisabled: true, minimumPressure: 2 },
      await client.getFlavor('small'),
    ]);

    await client.setFlavorDisabled('small', true);
    expect((await client.getFlavor('small')).isDisabled).toBe(true);
    await client.setFlavorDisabled('small', false);
    expect((await client.getFlavor('small')).isDisabled).toBe(false);

    await client.deleteFlavor('small');
    await client.deleteFlavor('small');
    expect(await errorOf(client.getFlavor('small'))).toBeInstanceOf(NotFoundError);
  });

  it('maps error answers to PlannerError classes with the status and the server message', async () => {
    const client = admin();
    await client.createFlavor({ name: 'small', platform: 'github', labels: [] });

    const conflict = await errorOf(client.createFlavor({ name: 'small', platform: 'github', labels: [] }));
    expect(conflict).toBeInstanceOf(ConflictError);
    expect(conflict).toBeInstanceOf(PlannerError);
    expect(conflict).toMatchObject({ status: 409, message: 'flavor already exists' });

    const missing = await errorOf(client.setFlavorDisabled('nope', true));
    expect(missing).toBeInstanceOf(NotFoundError);
    expect(missing).toMatchObject({ status: 404, request: 'PATCH /api/v1/flavors/nope' });

    const badPlatform = await errorOf(client.createFlavor({ name: 'x', platform: 'bitbucket', labels: [] }));
    expect(badPlatform).toBeInstanceOf(BadRequestError);
    expect((badPlatform as PlannerError).message).toMatch(/platform/);

    const stranger = new PlannerClient({
      baseUrl: fixture.planner.url,
      token: 'planner_v0_notTheAdminToken_',
    });
    const unauthorized = await errorOf(stranger.getPressure('small'));
    expect(unauthorized).toBeInstanceOf(UnauthorizedError);
    expect(unauthorized).toMatchObject({ status: 401, message: 'unauthorized' });
  });

  it('creates, lists and deletes API tokens, which then work (or stop working) as credentials', async () => {
    const client = admin();
    await client.createFlavor({ name: 'small', platform: 'github', labels: [], minimumPressure: 1 });
    const created = await client.createToken('autoscaler');
    expect(created.name).toBe('autoscaler');
    expect(created.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await client.listTokens()).toEqual(['autoscaler']);
    expect(await errorOf(client.createToken('autoscaler'))).toBeInstanceOf(ConflictError);

    const autoscaler = new PlannerClient({ baseUrl: fixture.planner.url, token: created.token });
    expect(await autoscaler.getPressure('small')).toEqual({ small: 1 });
    // Admin-only routes refuse a general token.
    expect(await errorOf(autoscaler.listFlavors())).toBeInstanceOf(UnauthorizedError);

    await client.deleteToken('autoscaler');
    await client.deleteToken('autoscaler');
    expect(await client.listTokens()).toEqual([]);
    expect(await errorOf(autoscaler.getPressure('small'))).toBeInstanceOf(UnauthorizedError);
  });

  it('lists, reads and updates jobs with dates mapped from the wire', async () => {
    const client = admin();
    await client.createFlavor({ name: 'small', platform: 'github', labels: ['small'] });
    const createdAt = new Date(Date.now() - 60_000);
    await fixture.writer.addJob(job('1', ['small'], { createdAt, raw: { queued: { id: 1 } } }));
    await fixture.writer.addJob(job('2', ['small']));
    await fixture.writer.addJob(job('3', ['none'], { completedAt: new Date() }));

    const jobs = await client.listJobs('github', { raw: true });
    expect(jobs.map((listed) => listed.id)).toEqual(['1', '2', '3']);
    // Without `raw`, the planner leaves the payloads out.
    expect((await client.listJobs('github'))[0]?.raw).toEqual({});
    expect(jobs[0]).toEqual({
      platform: 'github',
      id: '1',
      labels: ['small'],
      createdAt,
      startedAt: null,
      completedAt: null,
      raw: { queued: { id: 1 } },
      assignedFlavor: 'small',
    });
    expect(jobs[2]?.completedAt).toBeInstanceOf(Date);
    expect(jobs[2]?.assignedFlavor).toBeNull();
    expect((await client.listJobs('github', { onlyNotCompleted: true })).map((listed) => listed.id)).toEqual([
      '1',
      '2',
    ]);
    expect((await client.listJobs('github', { limit: 1 })).map((listed) => listed.id)).toEqual(['1']);
    expect(
      (await client.listJobs('github', { createdAfter: new Date(createdAt.getTime() + 1) })).map(
        (listed) => listed.id,
      ),
    ).toEqual(['2', '3']);
    expect(await client.listJobs('gitlab')).toEqual([]);

    expect(await client.getJob('github', '1')).toEqual(jobs[0]);
    expect(await errorOf(client.getJob('github', '404'))).toBeInstanceOf(NotFoundError);

    const startedAt = new Date(Date.now() - 30_000);
    const completedAt = new Date();
    await client.updateJob('github', '1', { startedAt });
    await client.updateJob('github', '1', { completedAt });
    const updated = await client.getJob('github', '1');
    expect(updated.startedAt).toEqual(startedAt);
    expect(updated.completedAt).toEqual(completedAt);
    const again = await errorOf(client.updateJob('github', '1', { startedAt: new Date() }));
    expect(again).toBeInstanceOf(BadRequestError);
    expect((again as PlannerError).message).toMatch(/started_at/);
    expect(await errorOf(client.updateJob('github', '404', { startedAt }))).toBeInstanceOf(NotFoundError);
  });

  it('reads the pressure of one flavor, of every flavor with "_", and 404s unknown ones', async () => {
    const client = admin();
    await client.createFlavor({ name: 'small', platform: 'github', labels: ['small'] });
    await client.createFlavor({ name: 'lab', platform: 'gitlab', labels: [], minimumPressure: 2 });
    await fixture.writer.addJob(job('1', ['small']));
    expect(await client.getPressure('small')).toEqual({ small: 1 });
    expect(await client.getPressure('_')).toEqual({ lab: 2, small: 1 });
    expect(await errorOf(client.getPressure('nope'))).toBeInstanceOf(NotFoundError);
  });
});

describe('PlannerClient.streamPressure against a running planner', () => {
  it('yields the first value and each change, and skips heartbeats that repeat it', async () => {
    const client = admin();
    await client.createFlavor({ name: 'small', platform: 'github', labels: ['small'] });

    // Count the raw lines too, to be sure heartbeats were sent while nothing was yielded.
    const rawConnection = new AbortController();
    const raw = await fetch(`${fixture.planner.url}/api/v1/flavors/small/pressure?stream=true`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      signal: rawConnection.signal,
    });
    expect(raw.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
    let rawLines = 0;
    const counting = (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of raw.body ?? []) rawLines += decoder.decode(chunk).split('\n').length - 1;
    })().catch(() => {});

    const controller = new AbortController();
    const stream = record(client.streamPressure('small', { signal: controller.signal }));
    try {
      await expect.poll(() => stream.values).toEqual([{ small: 0 }]);
      await fixture.writer.addJob(job('1', ['small']));
      await expect.poll(() => stream.values).toEqual([{ small: 0 }, { small: 1 }]);
      const linesBefore = rawLines;
      await sleep(2_600);
      expect(rawLines - linesBefore).toBeGreaterThanOrEqual(2);
      expect(stream.values).toEqual([{ small: 0 }, { small: 1 }]);
      await fixture.writer.updateJobCompleted('github', '1', new Date());
      await expect.poll(() => stream.values).toEqual([{ small: 0 }, { small: 1 }, { small: 0 }]);
    } finally {
      controller.abort();
      rawConnection.abort();
      await counting;
    }
    expect(await within(stream.ended, 2_000)).toBeUndefined();
  });

  it('reconnects after the planner is closed and another starts on the same port', async () => {
    const first = await fixture.start();
    const port = Number(new URL(first.url).port);
    const client = new PlannerClient({ baseUrl: first.url, token: ADMIN_TOKEN });
    await client.createFlavor({ name: 'small', platform: 'github', labels: ['small'] });
    const reasons: unknown[] = [];
    const controller = new AbortController();
    const stream = record(
      client.streamPressure('_', {
        signal: controller.signal,
        minBackoffMs: 50,
        maxBackoffMs: 500,
        onReconnect: (reason) => reasons.push(reason),
      }),
    );
    try {
      await expect.poll(() => stream.values).toEqual([{ small: 0 }]);
      await closePlanner(first);
      await expect.poll(() => reasons.length).toBeGreaterThanOrEqual(2);
      await fixture.writer.addJob(job('while-down', ['small']));
      await fixture.start(port);
      await expect.poll(() => stream.values, { timeout: 10_000 }).toEqual([{ small: 0 }, { small: 1 }]);
      await fixture.writer.addJob(job('after', ['small']));
      await expect.poll(() => stream.values).toEqual([{ small: 0 }, { small: 1 }, { small: 2 }]);
      expect(stream.isEnded()).toBe(false);
    } finally {
      controller.abort();
    }
    expect(await within(stream.ended, 2_000)).toBeUndefined();
  });

  it('ends with NotFoundError for an unknown flavor and UnauthorizedError for a bad token', async () => {
    const missing = admin().streamPressure('nope', { minBackoffMs: 10 });
    expect(await errorOf(missing.next())).toBeInstanceOf(NotFoundError);
    const stranger = new PlannerClient({ baseUrl: fixture.planner.url, token: 'not-a-token' });
    expect(await errorOf(stranger.streamPressure('_').next())).toBeInstanceOf(UnauthorizedError);
  });

  it('ends when its signal aborts or return() is called', async () => {
    const client = admin();
    await client.createFlavor({ name: 'small', platform: 'github', labels: [] });
    const controller = new AbortController();
    const stream = record(client.streamPressure('small', { signal: controller.signal }));
    await expect.poll(() => stream.values).toEqual([{ small: 0 }]);
    controller.abort();
    expect(await within(stream.ended, 2_000)).toBeUndefined();

    const iterator = client.streamPressure('small');
    expect((await iterator.next()).value).toEqual({ small: 0 });
    expect(await within(iterator.return(), 2_000)).toEqual({ done: true, value: undefined });
    // The planner sees the stream close.
    await expect.poll(() => fixture.planner.app.pressureHub.size).toBe(0);
  });
});
