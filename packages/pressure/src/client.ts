import type { Flavor as StoredFlavor, Job as StoredJob } from '@runner-planner/core';
import { linkSignal, StoppableIterator, sleep, unlessAborted } from './abort.js';
import { PlannerError, plannerError } from './errors.js';
import { NdjsonSplitter } from './ndjson.js';
import {
  copySnapshot,
  type PressureSnapshot,
  type SnapshotStream,
  sameSnapshot,
  toSnapshot,
} from './snapshot.js';

export {
  BadRequestError,
  ConflictError,
  NotFoundError,
  PlannerError,
  plannerError,
  UnauthorizedError,
} from './errors.js';
export type { PressureSnapshot, SnapshotStream } from './snapshot.js';

export interface PlannerClientOptions {
  /** Where the planner listens, e.g. `http://planner:8081` (a path prefix is kept). */
  baseUrl: string | URL;
  /** `ADMIN_TOKEN`, or a token made with `createToken`. */
  token: string;
  /** Time limit of each non-streaming request. Default 30 000 ms. */
  timeoutMs?: number;
  /** Replaces the global `fetch` (for a proxy agent, tracing…). */
  fetch?: typeof globalThis.fetch;
}

/**
 * A kind of runner machine, as the planner stores it: a job goes to an enabled flavor whose labels
 * (case-insensitive) cover all of the job's, the highest priority winning; pressure is never
 * reported below `minimumPressure`.
 */
export type Flavor = Omit<StoredFlavor, 'runUntagged'>;

/** What `createFlavor` needs: omitted numbers are 0 and the flavor starts enabled. */
export interface NewFlavor {
  name: string;
  platform: string;
  labels: string[];
  priority?: number;
  isDisabled?: boolean;
  minimumPressure?: number;
}

/** A job as the planner's API returns it; `raw` holds each webhook action's payload under its name. */
export type Job = Omit<StoredJob, 'held' | 'releasedAt'>;

export interface ListJobsOptions {
  /** Only the jobs without `completedAt`. */
  onlyNotCompleted?: boolean;
  /** Only the jobs created after this time. */
  createdAfter?: Date;
  /** At most this many (the planner's default is 100; at most 1,000, or 100 with `raw`). */
  limit?: number;
  /** Include each job's webhook payloads (`raw`); without it every job's `raw` is `{}`. */
  raw?: boolean;
}

/** Timestamps to set on a job; each can be set once (a second time is a `BadRequestError`). */
export interface JobUpdate {
  startedAt?: Date;
  completedAt?: Date;
}

export interface CreatedToken {
  name: string;
  /** The secret, shown only this once: use it as `token` of another `PlannerClient`. */
  token: string;
}

export interface StreamPressureOptions {
  /** Aborting ends the iteration (the loop simply finishes). */
  signal?: AbortSignal;
  /** Wait before the first reconnection after a drop. Default 250 ms, doubling per failure… */
  minBackoffMs?: number;
  /** …up to this. Default 15 000 ms. */
  maxBackoffMs?: number;
  /**
   * Reconnect when the planner has sent nothing (not even a heartbeat) for this long, to get
   * out of a connection that died silently. Default 120 000 ms (a few heartbeats of the
   * planner's default 30 s); 0 turns it off.
   */
  idleTimeoutMs?: number;
  /** Told why the stream is reconnecting and after how long; the iteration itself does not end. */
  onReconnect?: (reason: unknown, delayMs: number) => void;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_MIN_BACKOFF_MS = 250;
const DEFAULT_MAX_BACKOFF_MS = 15_000;
const DEFAULT_IDLE_TIMEOUT_MS = 120_000;

interface FlavorJson {
  platform: string;
  name: string;
  labels: string[] | null;
  priority: number;
  is_disabled: boolean;
  minimum_pressure: number;
}

interface JobJson {
  platform: string;
  id: string | number;
  labels: string[] | null;
  created_at: string;
  started_at?: string | null;
  completed_at?: string | null;
  raw?: Record<string, unknown> | null;
  assigned_flavor?: string | null;
}

function toFlavor(json: FlavorJson): Flavor {
  return {
    name: json.name,
    platform: json.platform,
    labels: json.labels ?? [],
    priority: json.priority,
    isDisabled: json.is_disabled,
    minimumPressure: json.minimum_pressure,
  };
}

function toDate(value: string | null | undefined): Date | null {
  return value === null || value === undefined ? null : new Date(value);
}

function toJob(json: JobJson): Job {
  return {
    platform: json.platform,
    id: String(json.id),
    labels: json.labels ?? [],
    createdAt: new Date(json.created_at),
    startedAt: toDate(json.started_at),
    completedAt: toDate(json.completed_at),
    raw: json.raw ?? {},
    assignedFlavor: json.assigned_flavor ?? null,
  };
}

/** A status worth trying again later rather than a verdict on the request. */
function isRetryableStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

/** Exponential backoff with jitter: attempt 0 waits between min/2 and min. */
function backoffDelay(attempt: number, minMs: number, maxMs: number): number {
  const ceiling = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}

class StreamDropped extends Error {
  override readonly name = 'StreamDropped';
}

/**
 * The planner's HTTP API (`/api/v1`), typed: flavors, tokens, jobs and pressure, with
 * `streamPressure` following the `?stream=true` NDJSON stream across reconnections.
 * Error answers throw a `PlannerError` (`NotFoundError`, `ConflictError`, … by status).
 */
export class PlannerClient {
  private readonly baseUrl: string;
  private readonly token: string;
  private readonly timeoutMs: number;
  private readonly fetch: typeof globalThis.fetch;

  constructor(options: PlannerClientOptions) {
    const base = new URL(options.baseUrl);
    this.baseUrl = base.href.replace(/\/+$/, '');
    if (!options.token) throw new TypeError('PlannerClient needs a token');
    this.token = options.token;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.fetch = options.fetch ?? globalThis.fetch;
  }

  // Flavors

  /** Every flavor of every platform (admin token); the planner lists GitHub only unless asked. */
  async listFlavors(): Promise<Flavor[]> {
    const flavors = await this.json<FlavorJson[] | null>('GET', '/api/v1/flavors?platform=all');
    return (flavors ?? []).map(toFlavor);
  }

  /** NotFoundError when there is no such flavor. */
  async getFlavor(name: string): Promise<Flavor> {
    return toFlavor(await this.json<FlavorJson>('GET', `/api/v1/flavors/${segment(name)}`));
  }

  /** ConflictError when the name is taken. */
  async createFlavor(flavor: NewFlavor): Promise<void> {
    await this.send('POST', `/api/v1/flavors/${segment(flavor.name)}`, {
      platform: flavor.platform,
      labels: flavor.labels,
      priority: flavor.priority ?? 0,
      is_disabled: flavor.isDisabled ?? false,
      minimum_pressure: flavor.minimumPressure ?? 0,
    });
  }

  /** Disables (jobs move to the next best flavor) or enables a flavor; NotFoundError if missing. */
  async setFlavorDisabled(name: string, disabled: boolean): Promise<void> {
    await this.send('PATCH', `/api/v1/flavors/${segment(name)}`, { is_disabled: disabled });
  }

  /** Deletes a flavor; deleting a missing one is not an error. */
  async deleteFlavor(name: string): Promise<void> {
    await this.send('DELETE', `/api/v1/flavors/${segment(name)}`);
  }

  // Tokens (admin token)

  /** A new API token; ConflictError when the name is taken. */
  async createToken(name: string): Promise<CreatedToken> {
    const created = await this.json<{ name: string; token: string }>(
      'POST',
      `/api/v1/auth/token/${segment(name)}`,
    );
    return { name: created.name, token: created.token };
  }

  /** Names of the API tokens (never the tokens). */
  async listTokens(): Promise<string[]> {
    const listed = await this.json<{ names: string[] | null }>('GET', '/api/v1/auth/token');
    return listed.names ?? [];
  }

  /** Revokes a token; revoking a missing one is not an error. */
  async deleteToken(name: string): Promise<void> {
    await this.send('DELETE', `/api/v1/auth/token/${segment(name)}`);
  }

  // Jobs

  /** Jobs of `github` or `gitlab`, oldest first; payloads only with `options.raw`. */
  async listJobs(platform: string, options: ListJobsOptions = {}): Promise<Job[]> {
    const query = new URLSearchParams();
    if (options.onlyNotCompleted !== undefined)
      query.set('only_not_completed', String(options.onlyNotCompleted));
    if (options.createdAfter !== undefined) query.set('created_after', options.createdAfter.toISOString());
    if (options.limit !== undefined) query.set('limit', String(options.limit));
    if (options.raw) query.set('raw', 'true');
    const search = query.size > 0 ? `?${query}` : '';
    const jobs = await this.json<JobJson[] | null>('GET', `/api/v1/jobs/${segment(platform)}${search}`);
    return (jobs ?? []).map(toJob);
  }

  /** NotFoundError when there is no such job. */
  async getJob(platform: string, id: string): Promise<Job> {
    return toJob(await this.json<JobJson>('GET', `/api/v1/jobs/${segment(platform)}/${segment(id)}`));
  }

  /** Sets `startedAt` and/or `completedAt`; BadRequestError if one is already set, NotFoundError if no job. */
  async updateJob(platform: string, id: string, update: JobUpdate): Promise<void> {
    const body: Record<string, string> = {};
    if (update.startedAt !== undefined) body.started_at = update.startedAt.toISOString();
    if (update.completedAt !== undefined) body.completed_at = update.completedAt.toISOString();
    await this.send('PATCH', `/api/v1/jobs/${segment(platform)}/${segment(id)}`, body);
  }

  // Pressure

  /** `{ [flavor]: pressure }` for one flavor, or for every flavor with `'_'`; NotFoundError if unknown. */
  async getPressure(flavor: string): Promise<PressureSnapshot> {
    const body = await this.json<unknown>('GET', pressurePath(flavor));
    const snapshot = toSnapshot(body);
    if (snapshot === undefined)
      throw new PlannerError(200, `unexpected pressure answer: ${JSON.stringify(body)}`);
    return snapshot;
  }

  /**
   * Pressure of one flavor (or every flavor with `'_'`) as it changes: the current snapshot
   * first, then a snapshot whenever a value differs from the last one yielded (the planner's
   * heartbeats repeat the value and are skipped). A dropped connection, a 5xx, 408 or 429 is
   * retried with exponential backoff (reset once a connection delivers), yielding after the
   * reconnection only if the value moved meanwhile. Any other error status (401 bad token,
   * 404 unknown flavor, …) ends the iteration by throwing a `PlannerError`. Ends without error
   * on `return()` (leaving a `for await` loop) or when `options.signal` aborts.
   */
  streamPressure(flavor: string, options: StreamPressureOptions = {}): SnapshotStream {
    const controller = new AbortController();
    const unlink = linkSignal(options.signal, controller);
    return new StoppableIterator(
      (signal) => this.followPressure(flavor, options, signal),
      controller,
      unlink,
    );
  }

  private async *followPressure(
    flavor: string,
    options: StreamPressureOptions,
    signal: AbortSignal,
  ): AsyncGenerator<PressureSnapshot, void, undefined> {
    const minBackoff = options.minBackoffMs ?? DEFAULT_MIN_BACKOFF_MS;
    const maxBackoff = Math.max(minBackoff, options.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS);
    const idleTimeout = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    const state: FollowState = { last: undefined, failures: 0 };

    while (!signal.aborted) {
      // Each connection has its own controller: the idle timer and the end of the loop cut it.
      const connection = new AbortController();
      const unlink = linkSignal(signal, connection);
      let reason: unknown;
      try {
        reason = yield* this.followConnection(flavor, connection, idleTimeout, state);
      } catch (error) {
        if (signal.aborted) return;
        if (error instanceof PlannerError) throw error;
        reason = connection.signal.aborted ? connection.signal.reason : error;
      } finally {
        connection.abort();
        unlink();
      }
      if (signal.aborted) return;
      const delay = backoffDelay(state.failures, minBackoff, maxBackoff);
      state.failures += 1;
      options.onReconnect?.(reason, delay);
      await sleep(delay, signal);
    }
  }

  /**
   * One connection of `followPressure`: yields each snapshot that differs from the last one, and
   * returns why the connection ended when a retry may help. Throws a status no retry can fix.
   */
  private async *followConnection(
    flavor: string,
    connection: AbortController,
    idleTimeout: number,
    state: FollowState,
  ): AsyncGenerator<PressureSnapshot, unknown, undefined> {
    const response = await this.fetch(`${this.baseUrl}${pressurePath(flavor, true)}`, {
      headers: { authorization: `Bearer ${this.token}`, accept: 'application/x-ndjson' },
      signal: connection.signal,
    });
    if (!response.ok) {
      const text = await response.text().catch(() => '');
      const error = plannerError(response.status, text, `GET ${pressurePath(flavor, true)}`);
      if (!isRetryableStatus(response.status)) throw error;
      return error;
    }
    if (response.body === null) return new StreamDropped('the planner sent no body');
    for await (const snapshot of readSnapshots(response.body, connection, idleTimeout)) {
      state.failures = 0;
      if (state.last === undefined || !sameSnapshot(snapshot, state.last)) {
        state.last = snapshot;
        yield copySnapshot(snapshot);
      }
    }
    return connection.signal.reason ?? new StreamDropped('the planner ended the stream');
  }

  /** A request whose answer is JSON. */
  private async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await this.request(method, path, body);
    return (await response.json()) as T;
  }

  /** A request whose answer body does not matter. */
  private async send(method: string, path: string, body?: unknown): Promise<void> {
    const response = await this.request(method, path, body);
    await response.body?.cancel();
  }

  private async request(method: string, path: string, body?: unknown): Promise<Response> {
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.token}`,
      accept: 'application/json',
    };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await this.fetch(`${this.baseUrl}${path}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    if (!response.ok) {
      const text = await response.text().catch(() => '');
      throw plannerError(response.status, text, `${method} ${path}`);
    }
    return response;
  }
}

/** What `followPressure` carries across connections. */
interface FollowState {
  /** The last snapshot yielded: a reconnection repeats it only if the value moved. */
  last: PressureSnapshot | undefined;
  /** Connections in a row that delivered nothing, for the backoff. */
  failures: number;
}

function segment(value: string): string {
  return encodeURIComponent(value);
}

function pressurePath(flavor: string, stream = false): string {
  // `_` is every flavor of GitHub only unless the planner is asked for every platform.
  const query = [flavor === '_' ? 'platform=all' : '', stream ? 'stream=true' : ''].filter(Boolean).join('&');
  return `/api/v1/flavors/${segment(flavor)}/pressure${query === '' ? '' : `?${query}`}`;
}

/**
 * The snapshots of one NDJSON response, until it ends or drops (then it throws). A line that is
 * not a pressure object is skipped. With `idleTimeoutMs`, silence that long aborts `connection`.
 */
async function* readSnapshots(
  body: ReadableStream<Uint8Array>,
  connection: AbortController,
  idleTimeoutMs: number,
): AsyncGenerator<PressureSnapshot, void, undefined> {
  const reader = body.getReader();
  const splitter = new NdjsonSplitter();
  try {
    for (;;) {
      // Only the wait for data counts as silence, not the time the caller spends on a snapshot.
      const idle =
        idleTimeoutMs > 0
          ? setTimeout(
              () => connection.abort(new StreamDropped(`nothing received for ${idleTimeoutMs} ms`)),
              idleTimeoutMs,
            )
          : undefined;
      let chunk: Awaited<ReturnType<typeof reader.read>> | undefined;
      try {
        chunk = await unlessAborted(reader.read(), connection.signal);
      } finally {
        clearTimeout(idle);
      }
      if (chunk === undefined) return;
      const lines = chunk.done ? splitter.end() : splitter.push(chunk.value);
      for (const line of lines) {
        const snapshot = parseLine(line);
        if (snapshot !== undefined) yield snapshot;
      }
      if (chunk.done) return;
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}

function parseLine(line: string): PressureSnapshot | undefined {
  try {
    return toSnapshot(JSON.parse(line));
  } catch {
    return undefined;
  }
}
