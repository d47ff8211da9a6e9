import type { Database, TokenRevocationSubscription } from '@runner-planner/database';
import type { Principal } from './auth.js';

/** A stream as the registry sees it: something it can end. */
export interface OwnedStream {
  /** Finishes the stream; its owner then calls `release`. */
  end(): void;
}

/** Why a stream is refused: its token has its share open, or the planner has all it takes. */
export type StreamRefusal = 'token' | 'total';

export interface StreamRegistryOptions {
  db: Pick<Database, 'subscribeTokenRevocations' | 'authTokenScope' | 'listAuthTokenInfos'>;
  /** Streams one token (the admin token counts as one) may have open. */
  perToken: number;
  /** Streams open in all. */
  total: number;
  /** How long `confirm` waits for the LISTEN connection. Default 10 s. */
  readyTimeoutMs?: number;
  /** For failures while checking tokens after missed notifications; quiet by default. */
  onError?: (err: unknown) => void;
}

const ADMIN_OWNER = 'admin';
const TOKEN_OWNER = 'token:';

function ownerOf(principal: Principal): string {
  return principal.kind === 'admin' ? ADMIN_OWNER : `${TOKEN_OWNER}${principal.name}`;
}

/**
 * Who holds which pressure stream of this planner process: caps them per token and in all, and
 * ends at once every stream of a token that is deleted or changed, wherever that happens (this
 * process's API, the CLI, another planner, SQL). Revocations arrive through the database's
 * `auth_token_revoked` notifications, listened to while any stream opened with a general token
 * is open; after notifications may have been missed (a dropped connection, TRUNCATE) every
 * token in use is checked again.
 */
export class StreamRegistry {
  private readonly byOwner = new Map<string, Set<OwnedStream>>();
  private readonly owners = new Map<OwnedStream, string>();
  private tokenStreams = 0;
  private subscription: TokenRevocationSubscription | null = null;
  private readonly readyTimeoutMs: number;

  constructor(private readonly options: StreamRegistryOptions) {
    this.readyTimeoutMs = options.readyTimeoutMs ?? 10_000;
  }

  /** Streams registered right now. */
  get size(): number {
    return this.owners.size;
  }

  /** Registers a stream for `principal`, or says why it cannot be opened. */
  admit(principal: Principal, stream: OwnedStream): StreamRefusal | undefined {
    const owner = ownerOf(principal);
    const streams = this.byOwner.get(owner) ?? new Set<OwnedStream>();
    if (streams.size >= this.options.perToken) return 'token';
    if (this.owners.size >= this.options.total) return 'total';
    streams.add(stream);
    this.byOwner.set(owner, streams);
    this.owners.set(stream, owner);
    if (principal.kind === 'token') {
      this.tokenStreams += 1;
      this.subscription ??= this.options.db.subscribeTokenRevocations((name) => this.revoked(name));
    }
    return undefined;
  }

  /** Forgets a stream (idempotent); the last stream of a general token stops the listening. */
  release(stream: OwnedStream): void {
    const owner = this.owners.get(stream);
    if (owner === undefined) return;
    this.owners.delete(stream);
    const streams = this.byOwner.get(owner);
    streams?.delete(stream);
    if (streams?.size === 0) this.byOwner.delete(owner);
    if (owner.startsWith(TOKEN_OWNER)) {
      this.tokenStreams -= 1;
      if (this.tokenStreams === 0) void this.stopListening();
    }
  }

  /**
   * For a general token: true once revocations are listened to and the token still exists, so
   * a deletion between the request's authentication and now is never missed. Rejects when the
   * LISTEN connection does not come up in time. Call it after `admit`.
   */
  async confirm(principal: Principal): Promise<boolean> {
    if (principal.kind === 'admin') return true;
    const subscription = this.subscription;
    if (subscription === null) return false;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(
        () => reject(new Error('token revocations are not available (no LISTEN connection)')),
        this.readyTimeoutMs,
      );
    });
    try {
      await Promise.race([subscription.ready, timeout]);
    } finally {
      clearTimeout(timer);
    }
    return (await this.options.db.authTokenScope(principal.name)) !== undefined;
  }

  /** Ends every stream opened with the general token `name`; returns how many. */
  revoke(name: string): number {
    const streams = [...(this.byOwner.get(`${TOKEN_OWNER}${name}`) ?? [])];
    for (const stream of streams) {
      // Released here too, in case ending does not call back (a stream not started yet).
      this.release(stream);
      stream.end();
    }
    return streams.length;
  }

  /** Stops listening for revocations (streams themselves are ended by the hub). */
  async close(): Promise<void> {
    await this.stopListening();
  }

  private revoked(name: string | undefined): void {
    if (name !== undefined) {
      this.revoke(name);
      return;
    }
    void this.checkEveryToken();
  }

  private async checkEveryToken(): Promise<void> {
    try {
      const existing = new Set((await this.options.db.listAuthTokenInfos()).map((info) => info.name));
      for (const owner of [...this.byOwner.keys()]) {
        if (!owner.startsWith(TOKEN_OWNER)) continue;
        const name = owner.slice(TOKEN_OWNER.length);
        if (!existing.has(name)) this.revoke(name);
      }
    } catch (err) {
      this.options.onError?.(err);
    }
  }

  private async stopListening(): Promise<void> {
    const subscription = this.subscription;
    this.subscription = null;
    await subscription?.close();
  }
}
