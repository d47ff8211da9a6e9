import { PLATFORMS } from '@runner-planner/core';
import type { Database, PressureSubscription } from '@runner-planner/database';
import { compareBytes } from './respond.js';

/** Pressure of every flavor of every platform, by flavor name in name order. */
export type PressureSnapshot = ReadonlyMap<string, number>;

/** One open pressure stream, as the hub sees it. */
export interface PressureListener {
  /** A newer snapshot (sent after `join` resolved; the listener decides whether it changes anything). */
  update(snapshot: PressureSnapshot): void;
  /** The hub is closing: finish the stream. */
  end(): void;
}

export interface PressureHubOptions {
  db: Pick<Database, 'getPressures' | 'subscribePressureChanges'>;
  /** Snapshots are also re-read this often while streams are open (time alone moves pressure: staleness). */
  refreshMs: number;
  /** At most one read per this many milliseconds, for every stream together. Default 50. */
  minIntervalMs?: number;
  /** How long a new stream waits for the LISTEN connection before giving up. Default 10 s. */
  readyTimeoutMs?: number;
  /** After a failed read, the next is tried this much later. Default 1 s. */
  retryMs?: number;
  /** For failed reads; quiet by default. */
  onError?: (err: unknown) => void;
}

/** The hub was closed (the planner is shutting down). */
export class HubClosedError extends Error {
  override readonly name = 'HubClosedError';
  constructor() {
    super('the planner is shutting down');
  }
}

/** The stream left before its first snapshot arrived. */
class LeftError extends Error {}

interface Waiter {
  listener: PressureListener;
  resolve(snapshot: PressureSnapshot): void;
  reject(err: unknown): void;
}

/**
 * Feeds every pressure stream of a planner process from ONE `subscribePressureChanges()`
 * subscription (so one LISTEN connection) and ONE reader:
 *
 * - a burst of change notifications, for any number of streams, becomes one read of every
 *   flavor of every platform, at most one read per `minIntervalMs`; each stream then picks its
 *   own subset from the shared snapshot and writes a line only if its values changed;
 * - reads are serialised, so snapshots reach streams in the order they were read;
 * - a new stream's first value comes from a read that started after it joined and after the
 *   LISTEN connection was up, so no later change can be missed and no older value can follow;
 * - while streams are open the snapshot is also re-read every `refreshMs`, since pressure
 *   moves when jobs age out of the staleness window without any write.
 *
 * The subscription is opened with the first stream and closed with the last one (freeing the
 * LISTEN connection unless something else in the process listens); timers run only while
 * streams are open.
 */
export class PressureHub {
  private readonly listeners = new Set<PressureListener>();
  private waiters: Waiter[] = [];
  private subscription: PressureSubscription | null = null;
  private throttle: NodeJS.Timeout | null = null;
  private refresher: NodeJS.Timeout | null = null;
  private dirty = false;
  private reading = false;
  private lastReadAt = Number.NEGATIVE_INFINITY;
  private notBefore = 0;
  private isClosed = false;
  private readonly minIntervalMs: number;
  private readonly readyTimeoutMs: number;
  private readonly retryMs: number;
  /** Reads done so far (for tests and diagnostics). */
  reads = 0;

  constructor(private readonly options: PressureHubOptions) {
    this.minIntervalMs = options.minIntervalMs ?? 50;
    this.readyTimeoutMs = options.readyTimeoutMs ?? 10_000;
    this.retryMs = options.retryMs ?? 1_000;
  }

  /** Streams open (or opening) right now. */
  get size(): number {
    return this.listeners.size;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** True when the hub holds a subscription or a timer (it should not while no stream is open). */
  get active(): boolean {
    return this.subscription !== null || this.throttle !== null || this.refresher !== null;
  }

  /**
   * Adds a stream; resolves with its first snapshot, read after it joined. Rejects (and removes
   * the stream) when the read fails, the LISTEN connection does not come up in time, or the
   * hub closes; `leave` before then rejects it too.
   */
  join(listener: PressureListener): Promise<PressureSnapshot> {
    if (this.isClosed) return Promise.reject(new HubClosedError());
    this.listeners.add(listener);
    if (this.subscription === null) this.subscribe();
    this.refresher ??= setInterval(() => this.request(), this.options.refreshMs);
    return new Promise<PressureSnapshot>((resolve, reject) => {
      this.waiters.push({ listener, resolve, reject });
      this.request();
    });
  }

  /** Removes a stream (idempotent). The last one to leave closes the subscription and timers. */
  leave(listener: PressureListener): void {
    if (!this.listeners.delete(listener)) return;
    const waiting = this.waiters.filter((waiter) => waiter.listener === listener);
    if (waiting.length > 0) {
      this.waiters = this.waiters.filter((waiter) => waiter.listener !== listener);
      for (const waiter of waiting) waiter.reject(new LeftError('left before the first snapshot'));
    }
    if (this.listeners.size === 0) void this.idle();
  }

  /** Ends every stream and refuses new ones. */
  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    for (const waiter of this.waiters.splice(0)) waiter.reject(new HubClosedError());
    for (const listener of [...this.listeners]) {
      this.listeners.delete(listener);
      listener.end();
    }
    await this.idle();
  }

  private subscribe(): void {
    const subscription = this.options.db.subscribePressureChanges();
    this.subscription = subscription;
    void (async () => {
      try {
        for await (const _ of subscription) this.request();
      } catch (err) {
        this.options.onError?.(err);
      }
    })();
  }

  private async idle(): Promise<void> {
    if (this.throttle !== null) clearTimeout(this.throttle);
    if (this.refresher !== null) clearInterval(this.refresher);
    this.throttle = null;
    this.refresher = null;
    this.dirty = false;
    const subscription = this.subscription;
    this.subscription = null;
    await subscription?.close();
  }

  /** Asks for a read; many asks in one interval make one read. */
  private request(): void {
    if (this.listeners.size === 0) return;
    this.dirty = true;
    if (this.throttle !== null || this.reading) return;
    const wait = Math.max(0, this.lastReadAt + this.minIntervalMs - Date.now(), this.notBefore - Date.now());
    this.throttle = setTimeout(() => {
      this.throttle = null;
      void this.read();
    }, wait);
  }

  private async read(): Promise<void> {
    const subscription = this.subscription;
    if (!this.dirty || subscription === null) return;
    this.dirty = false;
    this.reading = true;
    this.lastReadAt = Date.now();
    const waiters = this.waiters.splice(0);
    const joining = new Set(waiters.map((waiter) => waiter.listener));
    try {
      await this.whenListening(subscription);
      this.reads += 1;
      const snapshot = await this.readAll();
      for (const listener of [...this.listeners]) {
        if (!joining.has(listener) && !this.isPending(listener)) listener.update(snapshot);
      }
      for (const waiter of waiters) waiter.resolve(snapshot);
    } catch (err) {
      this.options.onError?.(err);
      for (const waiter of waiters) {
        this.listeners.delete(waiter.listener);
        waiter.reject(err);
      }
      if (this.listeners.size === 0) {
        await this.idle();
      } else {
        this.notBefore = Date.now() + this.retryMs;
        this.dirty = true;
      }
    } finally {
      this.reading = false;
      if (this.dirty) this.request();
    }
  }

  private isPending(listener: PressureListener): boolean {
    return this.waiters.some((waiter) => waiter.listener === listener);
  }

  private async whenListening(subscription: PressureSubscription): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(
        () => reject(new Error('pressure change notifications are not available (no LISTEN connection)')),
        this.readyTimeoutMs,
      );
    });
    try {
      await Promise.race([subscription.ready, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async readAll(): Promise<PressureSnapshot> {
    const byPlatform = await Promise.all(PLATFORMS.map((platform) => this.options.db.getPressures(platform)));
    const platforms = new Map<string, string>();
    byPlatform.forEach((pressures, i) => {
      for (const name of Object.keys(pressures)) platforms.set(name, PLATFORMS[i] as string);
    });
    const entries = byPlatform.flatMap((pressures) => Object.entries(pressures));
    // Go's map key order, which the original's JSON had.
    entries.sort(([a], [b]) => compareBytes(a, b));
    const snapshot = new Map(entries);
    platformsOf.set(snapshot, platforms);
    return snapshot;
  }
}

/**
 * The platform of each flavor in a snapshot the hub read, kept beside it rather than in it so
 * that a snapshot stays a plain name → pressure map.
 */
const platformsOf = new WeakMap<PressureSnapshot, ReadonlyMap<string, string>>();

/**
 * A stream's value in a snapshot: one flavor, or for `_` every flavor of `platform` (every
 * platform when it is undefined or `all`); undefined when the single flavor is gone.
 */
export function selectPressure(
  snapshot: PressureSnapshot,
  flavor: string,
  all: boolean,
  platform?: string,
): Record<string, number> | undefined {
  if (all) {
    const platforms = platformsOf.get(snapshot);
    if (platform === undefined || platform === 'all' || platforms === undefined) {
      return Object.fromEntries(snapshot);
    }
    return Object.fromEntries([...snapshot].filter(([name]) => platforms.get(name) === platform));
  }
  const value = snapshot.get(flavor);
  return value === undefined ? undefined : { [flavor]: value };
}
