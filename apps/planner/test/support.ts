import { type Config, loadConfig } from '@runner-planner/config';
import type { Flavor, NewJob } from '@runner-planner/core';
import { Database, migrate } from '@runner-planner/database';
import { openTestSql, type TestSql } from '@runner-planner/database/testing';
import { createTestDatabase, createTestQueuePrefix } from '@runner-planner/testkit';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { buildPlanner } from '../src/index.js';

export const ADMIN_TOKEN = 'planner_v0_test-admin-token_001';

export function plannerConfig(
  databaseUrl: string,
  prefix: string,
  env: Record<string, string> = {},
  overrides: Partial<Config> = {},
): Config {
  return {
    ...loadConfig({
      DATABASE_URL: databaseUrl,
      QUEUE_PREFIX: prefix,
      ADMIN_TOKEN,
      LOG_LEVEL: 'silent',
      ...env,
    }),
    plannerPort: 0,
    ...overrides,
  };
}

export interface DatabaseFixture {
  url: string;
  name: string;
  prefix: string;
  db: Database;
  sql: TestSql;
}

/** A database of this file's own (migrated, emptied before each test) and a queue prefix. */
export function useDatabase(label: string): DatabaseFixture {
  const fixture = {} as DatabaseFixture;
  const queue = createTestQueuePrefix(label);
  let drop = async () => {};
  beforeAll(async () => {
    const created = await createTestDatabase(label);
    drop = created.drop;
    fixture.url = created.url;
    fixture.name = created.name;
    fixture.prefix = queue.prefix;
    await migrate(created.url);
    fixture.db = await Database.connect(created.url);
    fixture.sql = openTestSql(created.url);
  });
  beforeEach(async () => {
    await fixture.sql.reset();
  });
  afterAll(async () => {
    await fixture.db?.close();
    await fixture.sql?.end();
    await drop();
    await queue.cleanup();
  });
  return fixture;
}

export interface PlannerFixture extends DatabaseFixture {
  app: FastifyInstance;
  config: Config;
}

/** `useDatabase` plus a planner app (not listening) for `inject()`. */
export function usePlanner(label: string, env: Record<string, string> = {}): PlannerFixture {
  const fixture = useDatabase(label) as PlannerFixture;
  beforeAll(async () => {
    fixture.config = plannerConfig(fixture.url, fixture.prefix, env);
    fixture.app = buildPlanner({ config: fixture.config, db: fixture.db, registry: new Registry() });
    await fixture.app.ready();
  });
  afterAll(async () => {
    await fixture.app?.close();
  });
  return fixture;
}

export interface CallOptions {
  /** Bearer token; the admin token by default, null for no Authorization header. */
  token?: string | null;
  /** The whole Authorization header (wins over `token`). */
  authorization?: string;
  /** JSON-encoded unless a string. */
  body?: unknown;
  headers?: Record<string, string>;
}

export function call(
  app: FastifyInstance,
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
  url: string,
  options: CallOptions = {},
): Promise<LightMyRequestResponse> {
  const headers: Record<string, string> = { ...options.headers };
  const token = options.token === undefined ? ADMIN_TOKEN : options.token;
  if (options.authorization !== undefined) headers.authorization = options.authorization;
  else if (token !== null) headers.authorization = `Bearer ${token}`;
  let payload: string | undefined;
  if (options.body !== undefined) {
    payload = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  return app.inject({ method, url, headers, ...(payload === undefined ? {} : { payload }) });
}

export function flavor(name: string, overrides: Partial<Flavor> = {}): Flavor {
  return {
    platform: 'github',
    name,
    labels: [name],
    priority: 0,
    isDisabled: false,
    minimumPressure: 0,
    ...overrides,
  };
}

let jobCounter = 0;

/** A new incomplete job with these labels (unique id). */
export function job(labels: string[], overrides: Partial<NewJob> = {}): NewJob {
  jobCounter += 1;
  return {
    platform: 'github',
    id: `${Date.now()}${jobCounter}`,
    labels,
    createdAt: new Date(),
    startedAt: null,
    completedAt: null,
    raw: { queued: {} },
    ...overrides,
  };
}

/** A general token created through the database, as the API hands it out. */
export async function generalToken(db: Database, name: string): Promise<string> {
  return Buffer.from(await db.createAuthToken(name)).toString('base64url');
}

/** Polls until `check` holds or the time is up; returns whether it held. */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 5_000,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return check();
}

/** Reads a streamed response body line by line. */
export class LineReader {
  private readonly lines: string[] = [];
  private waiter: (() => void) | null = null;
  private finished = false;
  private buffer = '';

  constructor(body: ReadableStream<Uint8Array>) {
    void this.pump(body);
  }

  /** The body was cut (a connection error) rather than finished by the server. */
  failed = false;

  /** The body ended (or failed). */
  get ended(): boolean {
    return this.finished && this.lines.length === 0;
  }

  /** The next line, or undefined if none came within `timeoutMs` or the body ended. */
  async next(timeoutMs = 2_000): Promise<string | undefined> {
    const deadline = Date.now() + timeoutMs;
    while (this.lines.length === 0 && !this.finished) {
      const left = deadline - Date.now();
      if (left <= 0) return undefined;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiter = null;
    }
    return this.lines.shift();
  }

  /** Waits until the body ends; true if it did within the time. */
  async end(timeoutMs = 2_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.finished) {
      if (Date.now() > deadline) return false;
      this.lines.length = 0;
      await this.next(deadline - Date.now());
    }
    return true;
  }

  private async pump(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    const reader = body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        this.buffer += decoder.decode(value, { stream: true });
        let newline = this.buffer.indexOf('\n');
        while (newline !== -1) {
          this.lines.push(this.buffer.slice(0, newline));
          this.buffer = this.buffer.slice(newline + 1);
          newline = this.buffer.indexOf('\n');
        }
        this.waiter?.();
      }
    } catch {
      // Aborted by the test, or the server went away: the stream is over either way.
      this.failed = true;
    } finally {
      this.finished = true;
      this.waiter?.();
    }
  }
}

export interface OpenStream {
  response: Response;
  lines: LineReader;
  close(): void;
}

/** `GET …/pressure?stream=true` (plus `query`, e.g. `platform=all`) over real HTTP with Node's fetch. */
export async function openPressureStream(
  baseUrl: string,
  flavor: string,
  token = ADMIN_TOKEN,
  query = '',
): Promise<OpenStream> {
  const abort = new AbortController();
  const extra = query === '' ? '' : `&${query}`;
  const response = await fetch(`${baseUrl}/api/v1/flavors/${flavor}/pressure?stream=true${extra}`, {
    headers: { authorization: `Bearer ${token}` },
    signal: abort.signal,
  });
  if (response.body === null) throw new Error('no body');
  return { response, lines: new LineReader(response.body), close: () => abort.abort() };
}
