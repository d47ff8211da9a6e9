import pRetry from 'p-retry';
import pg from 'pg';

export const PRESSURE_CHANNEL = 'pressure_change';
/** A token was deleted or changed: the payload is its name, or empty for "any token" (TRUNCATE). */
export const TOKEN_REVOKED_CHANNEL = 'auth_token_revoked';
/** How the LISTEN connection names itself in `pg_stat_activity`. */
export const PRESSURE_LISTENER_APPLICATION = 'runner-planner-pressure-listener';

/** A stream of "pressure may have changed" signals; a burst of changes is delivered as one. */
export interface PressureSubscription extends AsyncIterable<void> {
  /** Resolves once the LISTEN connection is up, so no later change can be missed. */
  readonly ready: Promise<void>;
  close(): Promise<void>;
}

/**
 * Names of tokens deleted or changed, as they are committed. `undefined` means any token may
 * have changed (a TRUNCATE, or notifications missed while the connection was being re-made):
 * check every token still in use.
 */
export type TokenRevocationListener = (name: string | undefined) => void;

export interface TokenRevocationSubscription {
  /** Resolves once the LISTEN connection is up, so no later revocation can be missed. */
  readonly ready: Promise<void>;
  close(): Promise<void>;
}

class RevocationSubscriber implements TokenRevocationSubscription {
  private closed = false;

  constructor(
    readonly ready: Promise<void>,
    private readonly listener: TokenRevocationListener,
    private readonly onClose: (subscriber: RevocationSubscriber) => void,
  ) {}

  revoked(name: string | undefined): void {
    if (!this.closed) this.listener(name);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.onClose(this);
  }
}

class Subscriber implements PressureSubscription {
  readonly ready: Promise<void>;
  private pending = false;
  private closed = false;
  private wake: (() => void) | null = null;

  constructor(
    ready: Promise<void>,
    private readonly onClose: (subscriber: Subscriber) => void,
  ) {
    this.ready = ready;
  }

  signal(): void {
    this.pending = true;
    this.wake?.();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.wake?.();
    this.onClose(this);
  }

  async *[Symbol.asyncIterator](): AsyncIterator<void> {
    try {
      while (!this.closed) {
        if (this.pending) {
          this.pending = false;
          yield;
          continue;
        }
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
        this.wake = null;
      }
    } finally {
      await this.close();
    }
  }
}

/**
 * One LISTEN connection shared by every subscriber of a database in this process, to pressure
 * changes and to token revocations. It opens with the first subscriber, closes with the last,
 * and reconnects with backoff when dropped; after a reconnect every subscriber is signalled,
 * since notifications may have been missed.
 */
class PressureChannel {
  private readonly subscribers = new Set<Subscriber>();
  private readonly revocationSubscribers = new Set<RevocationSubscriber>();
  private client: pg.Client | null = null;
  private connecting: Promise<void> | null = null;
  private stopping = false;

  constructor(
    private readonly databaseUrl: string,
    private readonly onIdle: () => void,
  ) {}

  subscribe(onClose: () => void): PressureSubscription {
    this.stopping = false;
    const ready = this.ensureConnected();
    const subscriber = new Subscriber(ready, (gone) => {
      this.unsubscribe(gone);
      onClose();
    });
    this.subscribers.add(subscriber);
    // A failure here is retried forever; callers learn of it only through `ready` never settling.
    ready.catch(() => {});
    return subscriber;
  }

  subscribeRevocations(listener: TokenRevocationListener, onClose: () => void): TokenRevocationSubscription {
    this.stopping = false;
    const ready = this.ensureConnected();
    const subscriber = new RevocationSubscriber(ready, listener, (gone) => {
      this.revocationSubscribers.delete(gone);
      this.closeIfUnused();
      onClose();
    });
    this.revocationSubscribers.add(subscriber);
    ready.catch(() => {});
    return subscriber;
  }

  private unsubscribe(subscriber: Subscriber): void {
    this.subscribers.delete(subscriber);
    this.closeIfUnused();
  }

  private get size(): number {
    return this.subscribers.size + this.revocationSubscribers.size;
  }

  private closeIfUnused(): void {
    if (this.size > 0) return;
    this.stopping = true;
    const client = this.client;
    this.client = null;
    this.onIdle();
    client?.end().catch(() => {});
  }

  private ensureConnected(): Promise<void> {
    if (this.client !== null) return Promise.resolve();
    this.connecting ??= pRetry(() => this.connect(), {
      forever: true,
      minTimeout: 100,
      maxTimeout: 5_000,
      shouldRetry: () => !this.stopping,
    }).finally(() => {
      this.connecting = null;
    });
    return this.connecting;
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({
      connectionString: this.databaseUrl,
      application_name: PRESSURE_LISTENER_APPLICATION,
      keepAlive: true,
    });
    client.on('notification', (message) => {
      if (message.channel === TOKEN_REVOKED_CHANNEL) {
        const name = message.payload === undefined || message.payload === '' ? undefined : message.payload;
        for (const subscriber of this.revocationSubscribers) subscriber.revoked(name);
        return;
      }
      for (const subscriber of this.subscribers) subscriber.signal();
    });
    client.on('error', () => this.dropped(client));
    client.on('end', () => this.dropped(client));
    try {
      await client.connect();
      await client.query(`LISTEN ${PRESSURE_CHANNEL}; LISTEN ${TOKEN_REVOKED_CHANNEL}`);
    } catch (error) {
      client.removeAllListeners('end');
      await client.end().catch(() => {});
      throw error;
    }
    if (this.stopping) {
      await client.end().catch(() => {});
      return;
    }
    this.client = client;
  }

  private dropped(client: pg.Client): void {
    if (this.client !== client) return;
    this.client = null;
    client.removeAllListeners('end');
    client.end().catch(() => {});
    if (this.stopping || this.size === 0) return;
    this.ensureConnected()
      .then(() => {
        for (const subscriber of this.subscribers) subscriber.signal();
        for (const subscriber of this.revocationSubscribers) subscriber.revoked(undefined);
      })
      .catch(() => {});
  }
}

const channels = new Map<string, PressureChannel>();

function channelOf(databaseUrl: string): PressureChannel {
  let channel = channels.get(databaseUrl);
  if (channel === undefined) {
    channel = new PressureChannel(databaseUrl, () => channels.delete(databaseUrl));
    channels.set(databaseUrl, channel);
  }
  return channel;
}

/**
 * Subscribes to pressure changes of a database through this process's single LISTEN connection;
 * `onClose` runs once when the subscription is closed.
 */
export function subscribeToPressure(
  databaseUrl: string,
  onClose: () => void = () => {},
): PressureSubscription {
  return channelOf(databaseUrl).subscribe(onClose);
}

/**
 * Calls `listener` with the name of each token deleted or changed in the database, through the
 * same LISTEN connection; `onClose` runs once when the subscription is closed.
 */
export function subscribeToTokenRevocations(
  databaseUrl: string,
  listener: TokenRevocationListener,
  onClose: () => void = () => {},
): TokenRevocationSubscription {
  return channelOf(databaseUrl).subscribeRevocations(listener, onClose);
}
