import { describe, expect, it } from 'vitest';
import { Database, InvalidInputError, type PressureSubscription } from '../src/index.js';
import { flavor, job, recountedPressures, useDatabase } from './support.js';

const fixture = useDatabase('pressure');
const DAY = 24 * 60 * 60 * 1000;
const daysAgo = (days: number) => new Date(Date.now() - days * DAY);

/** Per subscription: its one iterator, and the wait for its next signal not yet answered. */
const iterators = new WeakMap<PressureSubscription, AsyncIterator<void>>();
const waiting = new WeakMap<PressureSubscription, Promise<boolean>>();

/**
 * Whether a signal arrives within `ms`. A wait that timed out stays pending and is reused by the
 * next call, and a signal it receives meanwhile is kept for that call: a write can return after
 * its notification was already delivered, so the signal of a change may arrive before the call
 * that expects it. A signal expected is waited for up to 10 s (it returns at once when it comes;
 * a loaded CI machine has taken over 2 s); checks that expect none pass a short wait.
 */
function nextSignal(subscription: PressureSubscription, ms = 10_000): Promise<boolean> {
  let next = waiting.get(subscription);
  if (next === undefined) {
    let iterator = iterators.get(subscription);
    if (iterator === undefined) {
      iterator = subscription[Symbol.asyncIterator]();
      iterators.set(subscription, iterator);
    }
    next = iterator.next().then((result) => !result.done);
    waiting.set(subscription, next);
  }
  const pending = next;
  return new Promise<boolean>((resolve) => {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      resolve(false);
    }, ms);
    void pending.then((signalled) => {
      // Seen by a call that already answered false: left for the next call.
      if (timedOut) return;
      clearTimeout(timer);
      waiting.delete(subscription);
      resolve(signalled);
    });
  });
}

const listenerConnections = () => fixture.sql.listenerConnections();

describe('getPressures', () => {
  it('counts incomplete assigned jobs per flavor, every flavor when none is named', async () => {
    await fixture.db.addFlavor(flavor('a', { labels: ['a'] }));
    await fixture.db.addFlavor(flavor('b', { labels: ['b'] }));
    await fixture.db.addFlavor(flavor('gl', { platform: 'gitlab', labels: ['a'] }));
    await fixture.db.addJob(job('1', { labels: ['a'] }));
    await fixture.db.addJob(job('2', { labels: ['a'] }));
    await fixture.db.addJob(job('3', { labels: ['b'] }));
    await fixture.db.addJob(job('4', { labels: ['c'] }));
    await fixture.db.updateJobStarted('github', '2', new Date());
    expect(await fixture.db.getPressures('github')).toEqual({ a: 2, b: 1 });
    expect(await fixture.db.getPressures('github', 'b')).toEqual({ b: 1 });
    expect(await fixture.db.getPressures('github', 'a', 'missing', 'gl')).toEqual({ a: 2 });
    expect(await fixture.db.getPressures('gitlab')).toEqual({ gl: 0 });

    await fixture.db.updateJobCompleted('github', '1', new Date());
    expect(await fixture.db.getPressures('github', 'a')).toEqual({ a: 1 });
  });

  it('never reports less than minimumPressure', async () => {
    await fixture.db.addFlavor(flavor('warm', { minimumPressure: 3 }));
    expect(await fixture.db.getPressures('github')).toEqual({ warm: 3 });
    for (const id of ['1', '2', '3', '4']) await fixture.db.addJob(job(id));
    expect(await fixture.db.getPressures('github')).toEqual({ warm: 4 });
  });

  it('stops counting incomplete jobs older than the staleness window (5 days by default)', async () => {
    await fixture.db.addFlavor(flavor('f'));
    await fixture.db.addJob(job('fresh', { createdAt: daysAgo(4.9) }));
    await fixture.db.addJob(job('stale', { createdAt: daysAgo(5.1) }));
    await fixture.db.addJob(job('ancient', { createdAt: daysAgo(40) }));
    expect(await fixture.db.getPressures('github')).toEqual({ f: 1 });
    expect(await fixture.db.getPressures('github', 'f')).toEqual({ f: 1 });
    // Completing a stale job must not push the count below the truth.
    await fixture.db.updateJobCompleted('github', 'stale', new Date());
    expect(await fixture.db.getPressures('github')).toEqual({ f: 1 });
    expect(await fixture.db.getPressures('github')).toEqual(
      await recountedPressures(fixture, 'github', 5 * DAY),
    );
  });

  it('uses a configured staleness window', async () => {
    const hourly = await Database.connect(fixture.url, { staleAfterMs: 60 * 60 * 1000 });
    try {
      await hourly.addFlavor(flavor('f'));
      await hourly.addJob(job('recent', { createdAt: new Date(Date.now() - 30 * 60 * 1000) }));
      await hourly.addJob(job('old', { createdAt: new Date(Date.now() - 90 * 60 * 1000) }));
      expect(await hourly.getPressures('github')).toEqual({ f: 1 });
      expect(await fixture.db.getPressures('github')).toEqual({ f: 2 });
    } finally {
      await hourly.close();
    }
    await expect(Database.connect(fixture.url, { staleAfterMs: 0 })).rejects.toBeInstanceOf(
      InvalidInputError,
    );
  });

  it('rejects an empty platform', async () => {
    await expect(fixture.db.getPressures('')).rejects.toThrow('platform must not be empty');
  });
});

describe('pressure notifications', () => {
  it('signal every subscriber after a change, over one LISTEN connection', async () => {
    const subscribers = [1, 2, 3].map(() => fixture.db.subscribePressureChanges());
    const second = await Database.connect(fixture.url);
    const another = second.subscribePressureChanges();
    try {
      await Promise.all([...subscribers, another].map((s) => s.ready));
      expect(await listenerConnections()).toBe(1);

      const signals = Promise.all([...subscribers, another].map((s) => nextSignal(s)));
      await fixture.db.addFlavor(flavor('f'));
      expect(await signals).toEqual([true, true, true, true]);

      const afterJob = Promise.all(subscribers.map((s) => nextSignal(s)));
      await fixture.db.addJob(job('1'));
      expect(await afterJob).toEqual([true, true, true]);
    } finally {
      await Promise.all([...subscribers, another].map((s) => s.close()));
      await second.close();
    }
    // The last subscriber gone, the connection closes.
    await expect.poll(listenerConnections).toBe(0);
  });

  it('stay quiet for writes that cannot change a pressure', async () => {
    await fixture.db.addFlavor(flavor('f'));
    await fixture.db.addJob(job('1'));
    const subscription = fixture.db.subscribePressureChanges();
    try {
      await subscription.ready;
      await fixture.db.updateJobStarted('github', '1', new Date());
      await fixture.db.addJob(job('unmatched', { platform: 'gitlab' }));
      await fixture.db.createAuthToken('t');
      expect(await nextSignal(subscription, 500)).toBe(false);
      await fixture.db.updateJobCompleted('github', '1', new Date());
      expect(await nextSignal(subscription)).toBe(true);
    } finally {
      await subscription.close();
    }
  });

  it('coalesce a burst of changes into one pending signal', async () => {
    const subscription = fixture.db.subscribePressureChanges();
    try {
      await subscription.ready;
      await fixture.db.addFlavor(flavor('f'));
      for (const id of ['1', '2', '3']) await fixture.db.addJob(job(id));
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(await nextSignal(subscription)).toBe(true);
      expect(await nextSignal(subscription, 300)).toBe(false);
    } finally {
      await subscription.close();
    }
  });

  it('reconnect after the LISTEN connection drops and signal so nothing is missed', async () => {
    const subscription = fixture.db.subscribePressureChanges();
    try {
      await subscription.ready;
      await fixture.sql.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'runner-planner-pressure-listener' AND datname = current_database()",
      );
      // A change made while the connection is down is reported once it is back.
      await fixture.db.addFlavor(flavor('during-outage'));
      expect(await nextSignal(subscription, 10_000)).toBe(true);
      await expect.poll(listenerConnections, { timeout: 10_000 }).toBe(1);
      const later = nextSignal(subscription);
      await fixture.db.addJob(job('after'));
      expect(await later).toBe(true);
    } finally {
      await subscription.close();
    }
  });

  it('end iteration when closed', async () => {
    const subscription = fixture.db.subscribePressureChanges();
    await subscription.ready;
    const iterator = subscription[Symbol.asyncIterator]();
    const pending = iterator.next();
    await subscription.close();
    expect(await pending).toEqual({ value: undefined, done: true });
  });
});
