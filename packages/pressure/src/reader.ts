import { Database, InvalidInputError } from '@runner-planner/database';
import pRetry, { AbortError } from 'p-retry';
import { linkSignal, StoppableIterator, sleep, unlessAborted } from './abort.js';
import { copySnapshot, type PressureSnapshot, type SnapshotStream, sameSnapshot } from './snapshot.js';

export interface PressureReaderOptions {
  /** Incomplete jobs created longer ago than this stop counting (PRESSURE_STALE_AFTER). Default 5 days. */
  staleAfterMs?: number;
  /** Most query connections the reader opens. Default 2: reads are short. */
  poolSize?: number;
  /** The LISTEN connection's URL when `databaseUrl` is a pooler in transaction mode (DATABASE_LISTEN_URL). */
  listenUrl?: string;
  /** False behind PgBouncer before 1.21 in transaction mode (DATABASE_PREPARED_STATEMENTS). Default true. */
  preparedStatements?: boolean;
}

export interface WatchOptions {
  /** Aborting ends the iteration (the loop simply finishes). */
  signal?: AbortSignal;
  /**
   * Re-read at least this often even without a change signal, to follow jobs leaving the
   * staleness window (which no notification announces). Default 60 000 ms; 0 turns it off.
   */
  refreshIntervalMs?: number;
  /** Told about every failed read before it is retried (the iteration itself never sees it). */
  onError?: (error: unknown) => void;
  /** Backoff of retried reads. Defaults 100 ms doubling up to 5 000 ms. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

const DEFAULT_REFRESH_INTERVAL_MS = 60_000;

/**
 * Pressure read straight from runner-planner's PostgreSQL, for an autoscaler that can reach
 * the database: `get` for a one-off read, `watch` for a stream of snapshots that follows every
 * committed change through the database's `LISTEN` connection (one per process, however many
 * watches are open).
 */
export class PressureReader {
  private readonly watches = new Set<AbortController>();
  private closed = false;

  private constructor(
    private readonly database: Database,
    private readonly ownsDatabase: boolean,
  ) {}

  /** Connects to the database at `databaseUrl` (the one runner-planner's apps use). */
  static async connect(databaseUrl: string, options: PressureReaderOptions = {}): Promise<PressureReader> {
    const database = await Database.connect(databaseUrl, {
      ...(options.staleAfterMs === undefined ? {} : { staleAfterMs: options.staleAfterMs }),
      poolSize: options.poolSize ?? 2,
      ...(options.listenUrl === undefined ? {} : { listenUrl: options.listenUrl }),
      ...(options.preparedStatements === undefined ? {} : { preparedStatements: options.preparedStatements }),
    });
    return new PressureReader(database, true);
  }

  /** A reader over a `Database` the caller already has; `close()` then leaves it open. */
  static fromDatabase(database: Database): PressureReader {
    return new PressureReader(database, false);
  }

  /**
   * Current pressure of the named flavors of `platform` (`github` or `gitlab`), or of every
   * flavor of it when no name is given. Unknown names are left out of the result.
   */
  get(platform: string, ...flavors: string[]): Promise<Record<string, number>> {
    if (this.closed) return Promise.reject(new Error('PressureReader is closed'));
    return this.database.getPressures(platform, ...flavors);
  }

  /**
   * Snapshots of the pressure of `flavors` (or of every flavor of the platform with `'all'`):
   * the current one at once, then a new one each time it changes. A dropped database
   * connection or a failing read is retried with backoff and never ends the iteration; after
   * a reconnect the snapshot is read again and yielded if it moved meanwhile. Ends on
   * `return()` (leaving a `for await` loop), on `options.signal`, or on `close()`; throws only
   * for arguments the database rejects (an unknown platform).
   */
  watch(platform: string, flavors: string[] | 'all', options: WatchOptions = {}): SnapshotStream {
    if (flavors !== 'all' && flavors.length === 0) {
      throw new InvalidInputError('flavors', ["flavors must name at least one flavor, or be 'all'"]);
    }
    const names = flavors === 'all' ? [] : [...flavors];
    const controller = new AbortController();
    if (this.closed) controller.abort();
    const unlink = linkSignal(options.signal, controller);
    this.watches.add(controller);
    return new StoppableIterator(
      (signal) => this.follow(platform, names, options, signal),
      controller,
      () => {
        unlink();
        this.watches.delete(controller);
      },
    );
  }

  private async *follow(
    platform: string,
    names: string[],
    options: WatchOptions,
    signal: AbortSignal,
  ): AsyncGenerator<PressureSnapshot, void, undefined> {
    if (signal.aborted) return;
    const refreshMs = options.refreshIntervalMs ?? DEFAULT_REFRESH_INTERVAL_MS;
    const read = () => this.readWithRetry(platform, names, options, signal);
    // Listen before the first read, so that a change committed right after it is not missed.
    const subscription = this.database.subscribePressureChanges();
    try {
      await unlessAborted(
        subscription.ready.catch(() => {}),
        signal,
      );
      if (signal.aborted) return;
      let last = await read();
      if (last === undefined) return;
      yield copySnapshot(last);

      const changes = subscription[Symbol.asyncIterator]();
      let nextChange: Promise<IteratorResult<void>> | undefined;
      while (!signal.aborted) {
        nextChange ??= changes.next();
        const woken = await waitForChange(nextChange, refreshMs, signal);
        if (woken === STOPPED) return;
        if (woken === CHANGED) nextChange = undefined;
        const current = await read();
        if (current === undefined) return;
        if (!sameSnapshot(current, last)) {
          last = current;
          yield copySnapshot(current);
        }
      }
    } finally {
      await subscription.close();
    }
  }

  /** Reads until a read succeeds; undefined once aborted. Only invalid arguments throw. */
  private async readWithRetry(
    platform: string,
    names: string[],
    options: WatchOptions,
    signal: AbortSignal,
  ): Promise<PressureSnapshot | undefined> {
    try {
      return await pRetry(
        async () => {
          try {
            return await this.database.getPressures(platform, ...names);
          } catch (error) {
            if (error instanceof InvalidInputError) throw new AbortError(error);
            // p-retry gives up on TypeErrors: a driver failing mid-reconnect is still transient.
            if (error instanceof TypeError) throw new Error(error.message, { cause: error });
            throw error;
          }
        },
        {
          forever: true,
          minTimeout: options.minBackoffMs ?? 100,
          maxTimeout: options.maxBackoffMs ?? 5_000,
          randomize: true,
          signal,
          onFailedAttempt: (error) => {
            if (!signal.aborted) options.onError?.(error);
          },
        },
      );
    } catch (error) {
      if (signal.aborted) return undefined;
      throw error;
    }
  }

  /** Ends every watch of this reader, then closes its database connections (if it opened them). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const controller of this.watches) controller.abort();
    this.watches.clear();
    if (this.ownsDatabase) await this.database.close();
  }
}

const CHANGED = 'changed' as const;
const REFRESH = 'refresh' as const;
const STOPPED = 'stopped' as const;

/** Waits for the next change signal, for the refresh interval to pass, or for the end. */
async function waitForChange(
  nextChange: Promise<IteratorResult<void>>,
  refreshMs: number,
  signal: AbortSignal,
): Promise<typeof CHANGED | typeof REFRESH | typeof STOPPED> {
  const wait = new AbortController();
  const unlink = linkSignal(signal, wait);
  try {
    const change = nextChange.then((result) => (result.done ? STOPPED : CHANGED));
    const refresh = refreshMs > 0 ? sleep(refreshMs, wait.signal).then(() => REFRESH) : undefined;
    const woken = await unlessAborted(refresh ? Promise.race([change, refresh]) : change, signal);
    return woken === undefined || signal.aborted ? STOPPED : woken;
  } finally {
    wait.abort();
    unlink();
  }
}
