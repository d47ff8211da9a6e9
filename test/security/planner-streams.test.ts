import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AppProcess } from '../support/apps.js';
import { useSystem } from '../support/system.js';

/**
 * Pressure streams against the built planner, run as a process: the attacks that worked before
 * (unbounded streams per token and in all, streams that outlive their token's deletion) and what
 * they get now. Stream lifetime: apps/planner/test/stream-limits.test.ts.
 */
const system = useSystem('e2e_sec_streams');
const ADMIN_TOKEN = `planner_v0_${randomBytes(15).toString('base64url').slice(0, 20)}`;
const CLI = fileURLToPath(new URL('../../apps/cli/dist/main.js', import.meta.url));
const PER_TOKEN = 2;
const TOTAL = 3;

/** Small caps. */
let capped: AppProcess;
/** Default caps: a second planner on the same database. */
let other: AppProcess;

interface Stream {
  status: number;
  /** The body, for a refused request. */
  text: string;
  lines: string[];
  /** How the body ended: `ended` (the server finished it), `dropped` (cut), or still open. */
  done: Promise<'ended' | 'dropped'>;
  cancel(): void;
}

const open: Stream[] = [];

async function stream(planner: AppProcess, token: string, flavor = 'large'): Promise<Stream> {
  const abort = new AbortController();
  const response = await fetch(`${planner.url}/api/v1/flavors/${flavor}/pressure?stream=true`, {
    headers: { authorization: `Bearer ${token}` },
    signal: abort.signal,
  });
  if (response.status !== 200 || response.body === null) {
    return {
      status: response.status,
      text: await response.text(),
      lines: [],
      done: Promise.resolve('ended'),
      cancel: () => {},
    };
  }
  const lines: string[] = [];
  let first: () => void = () => {};
  const gotFirst = new Promise<void>((resolve) => {
    first = resolve;
  });
  const body = response.body;
  const done = (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of body) {
        buffer += decoder.decode(chunk, { stream: true });
        const parts = buffer.split('\n');
        buffer = parts.pop() ?? '';
        lines.push(...parts);
        if (lines.length > 0) first();
      }
      return 'ended' as const;
    } catch {
      return 'dropped' as const;
    } finally {
      first();
    }
  })();
  await gotFirst;
  const opened: Stream = { status: 200, text: '', lines, done, cancel: () => abort.abort() };
  open.push(opened);
  return opened;
}

/** The stream's end within `ms`, or `open` if it is still going. */
function endWithin(s: Stream, ms: number): Promise<'ended' | 'dropped' | 'open'> {
  return Promise.race([s.done, new Promise<'open'>((resolve) => setTimeout(() => resolve('open'), ms))]);
}

async function newToken(name: string): Promise<string> {
  const response = await fetch(`${capped.url}/api/v1/auth/token/${name}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  });
  expect(response.status).toBe(201);
  return ((await response.json()) as { token: string }).token;
}

beforeAll(async () => {
  [capped, other] = await Promise.all([
    system.start('planner', {
      ADMIN_TOKEN,
      PRESSURE_STREAMS_PER_TOKEN: String(PER_TOKEN),
      PRESSURE_STREAMS_MAX: String(TOTAL),
    }),
    system.start('planner', { ADMIN_TOKEN }),
  ]);
  await system.db.addFlavor({
    platform: 'github',
    name: 'large',
    labels: ['large'],
    priority: 0,
    isDisabled: false,
    minimumPressure: 1,
  });
});

afterEach(async () => {
  for (const s of open.splice(0)) s.cancel();
  // The planner notices the clients leaving; the next test starts with no stream open.
  await new Promise((resolve) => setTimeout(resolve, 50));
});

describe('pressure stream caps', () => {
  it('refuses a token its third stream with 429, and anyone past the planner total with 503', async () => {
    const first = await newToken('cap-first');
    const second = await newToken('cap-second');
    const a = await stream(capped, first);
    const b = await stream(capped, first);
    expect([a.status, b.status, a.lines[0]]).toEqual([200, 200, '{"large":1}']);

    const third = await stream(capped, first);
    expect(third.status).toBe(429);
    expect(third.text).toBe(`too many pressure streams for this token: at most ${PER_TOKEN} at once\n`);

    // Another token still has its share, until the planner holds TOTAL streams.
    expect((await stream(capped, second)).status).toBe(200);
    const over = await stream(capped, second);
    expect(over.status).toBe(503);
    expect(over.text).toContain(`too many pressure streams open on this planner (at most ${TOTAL})`);

    // A stream that ends gives its place back.
    a.cancel();
    await expect.poll(async () => (await stream(capped, first)).status, { interval: 50 }).toBe(200);
  });
});

describe('revocation', () => {
  it('ends the streams of a token deleted through the API at once; reconnecting gets 401', async () => {
    const token = await newToken('revoked-by-api');
    const a = await stream(capped, token);
    const b = await stream(capped, token, '_');
    const deleted = await fetch(`${capped.url}/api/v1/auth/token/revoked-by-api`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(deleted.status).toBe(204);
    expect(await endWithin(a, 1_000)).toBe('ended');
    expect(await endWithin(b, 1_000)).toBe('ended');
    expect((await stream(capped, token)).status).toBe(401);
  });

  it('ends them when the CLI deletes the token, from another process, on every planner', async () => {
    const token = await newToken('revoked-by-cli');
    const onCapped = await stream(capped, token);
    const onOther = await stream(other, token, '_');
    await promisify(execFile)(process.execPath, [CLI, 'token', 'delete', 'revoked-by-cli'], {
      env: { PATH: process.env.PATH ?? '', DATABASE_URL: system.databaseUrl },
    });
    // The deletion's notification reaches both planners as it commits, before the CLI exits.
    expect(await endWithin(onCapped, 1_000)).toBe('ended');
    expect(await endWithin(onOther, 1_000)).toBe('ended');
    expect((await stream(other, token)).status).toBe(401);
  });
});
