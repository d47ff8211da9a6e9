import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import type { PressureSubscription } from '@runner-planner/database';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  HubClosedError,
  PressureHub,
  type PressureListener,
  type PressureSnapshot,
  PressureStream,
} from '../src/index.js';

/** A subscription signalled by hand; `ready` resolves when told to. */
class FakeSubscription implements PressureSubscription {
  readonly ready: Promise<void>;
  closed = false;
  private pending = false;
  private wake: (() => void) | null = null;
  private markReady!: () => void;

  constructor(readyNow: boolean) {
    this.ready = new Promise((resolve) => {
      this.markReady = resolve;
    });
    if (readyNow) this.markReady();
  }

  listen(): void {
    this.markReady();
  }

  signal(): void {
    this.pending = true;
    this.wake?.();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<void> {
    while (!this.closed) {
      if (this.pending) {
        this.pending = false;
        yield;
        continue;
      }
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }
}

/** The database as the hub uses it: pressures per platform, calls counted, optionally slow or failing. */
class FakeDb {
  pressures: Record<string, Record<string, number>> = { github: { a: 1 }, gitlab: { b: 2 } };
  calls = 0;
  delayMs = 0;
  failing = false;
  readyNow = true;
  subscriptions: FakeSubscription[] = [];

  async getPressures(platform: string): Promise<Record<string, number>> {
    this.calls += 1;
    const value = { ...this.pressures[platform] };
    if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    if (this.failing) throw new Error('database down');
    return value;
  }

  subscribePressureChanges(): FakeSubscription {
    const subscription = new FakeSubscription(this.readyNow);
    this.subscriptions.push(subscription);
    return subscription;
  }

  get current(): FakeSubscription {
    const last = this.subscriptions.at(-1);
    if (last === undefined) throw new Error('no subscription');
    return last;
  }
}

class Recorder implements PressureListener {
  snapshots: Record<string, number>[] = [];
  ended = false;
  update(snapshot: PressureSnapshot): void {
    this.snapshots.push(Object.fromEntries(snapshot));
  }
  end(): void {
    this.ended = true;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let hub: PressureHub | undefined;
afterEach(async () => {
  await hub?.close();
  hub = undefined;
});

function makeHub(db: FakeDb, options: Partial<ConstructorParameters<typeof PressureHub>[0]> = {}) {
  hub = new PressureHub({ db, refreshMs: 60_000, minIntervalMs: 50, ...options });
  return hub;
}

describe('PressureHub', () => {
  it('answers a join with every flavor of every platform, in name order', async () => {
    const db = new FakeDb();
    db.pressures = { github: { z: 1, a: 2 }, gitlab: { m: 3 } };
    const snapshot = await makeHub(db).join(new Recorder());
    expect([...snapshot]).toEqual([
      ['a', 2],
      ['m', 3],
      ['z', 1],
    ]);
  });

  it('turns a burst of notifications into one read for every stream together', async () => {
    const db = new FakeDb();
    const h = makeHub(db);
    const listeners = Array.from({ length: 100 }, () => new Recorder());
    await Promise.all(listeners.map((listener) => h.join(listener)));
    const readsAfterJoin = h.reads;
    db.pressures.github = { a: 5 };
    for (let i = 0; i < 1_000; i += 1) db.current.signal();
    await sleep(200);
    expect(h.reads - readsAfterJoin).toBe(1);
    for (const listener of listeners) expect(listener.snapshots).toEqual([{ a: 5, b: 2 }]);
  });

  it('reads at most once per interval under a steady stream of notifications', async () => {
    const db = new FakeDb();
    const h = makeHub(db, { minIntervalMs: 50 });
    await h.join(new Recorder());
    const before = h.reads;
    const started = Date.now();
    while (Date.now() - started < 500) {
      db.current.signal();
      await sleep(2);
    }
    await sleep(60);
    const reads = h.reads - before;
    expect(reads).toBeGreaterThanOrEqual(5);
    expect(reads).toBeLessThanOrEqual(Math.ceil((Date.now() - started) / 50) + 1);
  });

  it('gives a stream joining during a read a value read after it joined', async () => {
    const db = new FakeDb();
    db.delayMs = 100;
    const h = makeHub(db, { minIntervalMs: 0 });
    const first = new Recorder();
    const firstJoin = h.join(first);
    await sleep(20);
    // The first read is in flight; this value is newer than what it saw.
    db.pressures.github = { a: 9 };
    const second = new Recorder();
    const secondSnapshot = await h.join(second);
    expect(Object.fromEntries(await firstJoin)).toEqual({ a: 1, b: 2 });
    expect(Object.fromEntries(secondSnapshot)).toEqual({ a: 9, b: 2 });
    // The first stream gets the newer value too; the second is not told what it already has.
    expect(first.snapshots).toEqual([{ a: 9, b: 2 }]);
    expect(second.snapshots).toEqual([]);
  });

  it('waits for the LISTEN connection before the first read, and gives up after a while', async () => {
    const db = new FakeDb();
    db.readyNow = false;
    const h = makeHub(db, { readyTimeoutMs: 100 });
    const listener = new Recorder();
    await expect(h.join(listener)).rejects.toThrow(/no LISTEN connection/);
    expect(db.calls).toBe(0);
    expect(h.size).toBe(0);
    expect(h.active).toBe(false);
  });

  it('refreshes open streams on its own every refreshMs (staleness moves pressure without writes)', async () => {
    const db = new FakeDb();
    const h = makeHub(db, { refreshMs: 100 });
    const listener = new Recorder();
    await h.join(listener);
    db.pressures.github = { a: 0 };
    await sleep(180);
    expect(listener.snapshots[0]).toEqual({ a: 0, b: 2 });
  });

  it('closes its subscription and timers when the last stream leaves', async () => {
    const db = new FakeDb();
    const h = makeHub(db, { refreshMs: 100 });
    const a = new Recorder();
    const b = new Recorder();
    await Promise.all([h.join(a), h.join(b)]);
    expect(db.subscriptions).toHaveLength(1);
    h.leave(a);
    expect(h.size).toBe(1);
    expect(db.current.closed).toBe(false);
    h.leave(b);
    h.leave(b);
    expect(h.size).toBe(0);
    expect(h.active).toBe(false);
    expect(db.current.closed).toBe(true);
    // A new stream opens a new subscription.
    await h.join(new Recorder());
    expect(db.subscriptions).toHaveLength(2);
  });

  it('rejects a join when the stream leaves first', async () => {
    const db = new FakeDb();
    db.readyNow = false;
    const h = makeHub(db);
    const listener = new Recorder();
    const joined = h.join(listener);
    h.leave(listener);
    await expect(joined).rejects.toThrow(/left/);
    expect(h.active).toBe(false);
  });

  it('rejects joins when a read fails, and retries for the streams already open', async () => {
    const db = new FakeDb();
    const h = makeHub(db, { retryMs: 100, onError: () => {} });
    const open = new Recorder();
    await h.join(open);
    db.failing = true;
    await expect(h.join(new Recorder())).rejects.toThrow('database down');
    expect(h.size).toBe(1);
    db.failing = false;
    db.pressures.github = { a: 7 };
    await sleep(200);
    expect(open.snapshots.at(-1)).toEqual({ a: 7, b: 2 });
  });

  it('ends every stream on close and refuses new ones', async () => {
    const db = new FakeDb();
    const h = makeHub(db);
    const listener = new Recorder();
    await h.join(listener);
    await h.close();
    expect(listener.ended).toBe(true);
    expect(h.size).toBe(0);
    expect(h.active).toBe(false);
    await expect(h.join(new Recorder())).rejects.toBeInstanceOf(HubClosedError);
  });
});

/** Enough of a ServerResponse for PressureStream: writes recorded, `write` reporting a full buffer on demand. */
class FakeResponse extends EventEmitter {
  writes: string[] = [];
  full = false;
  ended = false;
  destroyed = false;
  writableFinished = false;
  headers: Record<string, string> = {};
  writeHead(_status: number, headers: Record<string, string>) {
    this.headers = headers;
    return this;
  }
  write(chunk: string): boolean {
    this.writes.push(chunk);
    return !this.full;
  }
  end() {
    this.ended = true;
    this.writableFinished = true;
    this.emit('close');
  }
  destroy() {
    this.destroyed = true;
    this.emit('close');
  }
}

describe('PressureStream', () => {
  const snapshot = (value: number): PressureSnapshot => new Map([['a', value]]);

  function open(options: { heartbeatMs?: number; stallLimitMs?: number } = {}) {
    const res = new FakeResponse();
    const onClose = vi.fn();
    const stream = new PressureStream(res as unknown as ServerResponse, {
      select: (s) => (s.has('a') ? { a: s.get('a') ?? 0 } : undefined),
      heartbeatMs: options.heartbeatMs ?? 60_000,
      ...(options.stallLimitMs === undefined ? {} : { stallLimitMs: options.stallLimitMs }),
      onClose,
    });
    stream.start({ a: 1 });
    return { res, stream, onClose };
  }

  it('writes a line only when its value changes', () => {
    const { res, stream } = open();
    stream.update(snapshot(1));
    stream.update(
      new Map([
        ['a', 1],
        ['other', 4],
      ]),
    );
    stream.update(snapshot(2));
    expect(res.writes).toEqual(['{"a":1}\n', '{"a":2}\n']);
    expect(res.headers['content-type']).toBe('application/x-ndjson');
    stream.end();
  });

  it('sends nothing while the socket buffer is full, then only the latest value', () => {
    const { res, stream } = open();
    res.full = true;
    stream.update(snapshot(2));
    stream.update(snapshot(3));
    stream.update(snapshot(4));
    expect(res.writes).toEqual(['{"a":1}\n', '{"a":2}\n']);
    res.full = false;
    res.emit('drain');
    expect(res.writes).toEqual(['{"a":1}\n', '{"a":2}\n', '{"a":4}\n']);
    stream.end();
  });

  it('disconnects a client that takes nothing for too long', async () => {
    const { res, stream, onClose } = open({ heartbeatMs: 20, stallLimitMs: 50 });
    res.full = true;
    stream.update(snapshot(2));
    await sleep(120);
    expect(res.destroyed).toBe(true);
    expect(onClose).toHaveBeenCalledTimes(1);
    expect(stream.closed).toBe(true);
  });

  it('ends when its flavor disappears, and reports the close once', () => {
    const { res, stream, onClose } = open();
    stream.update(new Map());
    expect(res.ended).toBe(true);
    expect(stream.clientGone).toBe(false);
    stream.end();
    expect(onClose).toHaveBeenCalledTimes(1);
  });

  it('notices a client that left', () => {
    const { res, stream, onClose } = open();
    res.emit('close');
    expect(stream.closed).toBe(true);
    expect(stream.clientGone).toBe(true);
    expect(onClose).toHaveBeenCalledWith(stream);
    stream.update(snapshot(5));
    expect(res.writes).toEqual(['{"a":1}\n']);
  });
});
