import type { ServerResponse } from 'node:http';
import type { PressureListener, PressureSnapshot } from './pressure-hub.js';
import { goJson } from './respond.js';

export const NDJSON = 'application/x-ndjson';

export interface PressureStreamOptions {
  /** The stream's value in a snapshot; undefined when its flavor is gone (the stream then ends). */
  select(snapshot: PressureSnapshot): Record<string, number> | undefined;
  /** The current value is written again after this long without a line. */
  heartbeatMs: number;
  /**
   * A client that has taken nothing for this long (its socket buffer stays full) is
   * disconnected. Default: twice the heartbeat, at least 60 s.
   */
  stallLimitMs?: number;
  /**
   * The stream ends cleanly this long after it started (PRESSURE_STREAM_MAX_AGE, less a random
   * part chosen by the caller): no grant lasts forever, and clients spread over the replicas
   * again as they reconnect. Unset: no limit.
   */
  maxAgeMs?: number;
  /** Called once when the stream is over, for whatever reason (client gone, ended, hub closing). */
  onClose(stream: PressureStream): void;
}

/**
 * One `?stream=true` response: newline-delimited JSON, each line the complete current value
 * (`{"<flavor>": n}`, or every flavor for `_`).
 *
 * Lines are written only when the value differs from the last one written, plus the current
 * value as a heartbeat after `heartbeatMs` without a line. Since every line supersedes the one
 * before, backpressure is handled by not queueing: while the socket buffer is full nothing is
 * written, and once it drains only the latest value goes out.
 */
export class PressureStream implements PressureListener {
  private latest: string | undefined;
  private lastWritten: string | undefined;
  private started = false;
  private over = false;
  private gone = false;
  private congestedSince: number | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  private expiry: NodeJS.Timeout | null = null;
  private readonly stallLimitMs: number;

  constructor(
    private readonly res: ServerResponse,
    private readonly options: PressureStreamOptions,
  ) {
    this.stallLimitMs = options.stallLimitMs ?? Math.max(60_000, 2 * options.heartbeatMs);
    // Registered before anything is awaited, so a client leaving early is never missed.
    res.once('close', () => {
      this.gone = !res.writableFinished;
      this.dispose();
    });
    res.on('drain', () => {
      this.congestedSince = null;
      this.flush();
    });
  }

  /** The stream is over (ended by the server, or the client left). */
  get closed(): boolean {
    return this.over;
  }

  /** The client disconnected before the response was complete. */
  get clientGone(): boolean {
    return this.gone;
  }

  /** Sends the headers and the first line. The caller has taken the response over (`reply.hijack()`). */
  start(value: Record<string, number>): void {
    if (this.over || this.started) return;
    this.started = true;
    this.res.writeHead(200, {
      'content-type': NDJSON,
      'cache-control': 'no-cache, no-store',
      // Proxies such as nginx would otherwise hold lines back in their buffer.
      'x-accel-buffering': 'no',
      'x-content-type-options': 'nosniff',
    });
    this.heartbeat = setInterval(() => this.beat(), this.options.heartbeatMs);
    if (this.options.maxAgeMs !== undefined) {
      this.expiry = setTimeout(() => this.end(), this.options.maxAgeMs);
    }
    this.latest = line(value);
    this.write(this.latest);
  }

  update(snapshot: PressureSnapshot): void {
    if (this.over) return;
    const value = this.options.select(snapshot);
    if (value === undefined) {
      this.end();
      return;
    }
    const next = line(value);
    if (next === this.latest) return;
    this.latest = next;
    this.flush();
  }

  /** Finishes the response (flavor deleted, token revoked, lifetime over, planner closing). */
  end(): void {
    if (this.over) return;
    this.dispose();
    if (this.started) this.res.end();
  }

  private dispose(): void {
    if (this.over) return;
    this.over = true;
    if (this.heartbeat !== null) clearInterval(this.heartbeat);
    if (this.expiry !== null) clearTimeout(this.expiry);
    this.heartbeat = null;
    this.expiry = null;
    this.options.onClose(this);
  }

  private flush(): void {
    if (!this.started || this.over || this.congestedSince !== null) return;
    if (this.latest !== undefined && this.latest !== this.lastWritten) this.write(this.latest);
  }

  private beat(): void {
    if (this.over || this.latest === undefined) return;
    if (this.congestedSince !== null) {
      if (Date.now() - this.congestedSince > this.stallLimitMs) this.res.destroy();
      return;
    }
    this.write(this.latest);
  }

  private write(text: string): void {
    this.lastWritten = text;
    this.heartbeat?.refresh();
    if (!this.res.write(text)) this.congestedSince = Date.now();
  }
}

/** One NDJSON line as the original's `json.Encoder` wrote it (escapes and newline included). */
function line(value: Record<string, number>): string {
  return goJson(value);
}
