import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type RunningPlanner, startPlanner } from '../src/index.js';
import { ADMIN_TOKEN, eventually, flavor, generalToken, job, plannerConfig, useDatabase } from './support.js';

/**
 * What github-runner-manager's planner client (canonical/github-runner-operator,
 * github-runner-manager/src/github_runner_manager/planner_client.py) does with the planner's
 * answers, written here from reading it, run against a running planner over HTTP.
 */

/** Python's `str.splitlines()` separators, which `requests`' `iter_lines` splits on. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: these control characters are line breaks to Python
const PYTHON_LINE_BREAK = /\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]/;

/**
 * `Response.iter_lines(decode_unicode=True)`: each chunk joined to what was pending and split
 * with `splitlines()`; the last piece stays pending unless the chunk ended with a line break.
 */
function iterLines(): { push(chunk: string): string[]; end(): string[] } {
  let pending: string | null = null;
  return {
    push(chunk) {
      const text = pending === null ? chunk : pending + chunk;
      const lines = text.split(PYTHON_LINE_BREAK);
      // splitlines() gives no empty piece after a final line break; the regex split does.
      const endsWithBreak = lines.at(-1) === '';
      if (endsWithBreak) lines.pop();
      pending = !endsWithBreak && lines.length > 0 ? (lines.pop() as string) : null;
      return lines;
    },
    end() {
      return pending === null ? [] : [pending];
    },
  };
}

interface FlavorInfo {
  name: string;
  labels: string[];
  priority: number | null;
  is_disabled: boolean | null;
  minimum_pressure: number | null;
}

/** The manager's PlannerClient: `get_flavor`, `get_pressure`, `stream_pressure`. */
class RunnerManagerPlannerClient {
  constructor(
    private readonly baseUrl: string,
    private readonly token: string,
  ) {}

  private get(path: string, signal?: AbortSignal): Promise<Response> {
    return fetch(new URL(path, this.baseUrl), {
      headers: { authorization: `Bearer ${this.token}` },
      ...(signal === undefined ? {} : { signal }),
    });
  }

  async getFlavor(name: string): Promise<FlavorInfo> {
    const response = await this.get(`/api/v1/flavors/${name}`);
    if (!response.ok) throw new Error(`PlannerApiError: ${response.status}`);
    const data = (await response.json()) as Record<string, unknown>;
    return {
      name: (data.name as string | undefined) ?? '',
      labels: (data.labels as string[] | undefined) ?? [],
      priority: (data.priority as number | undefined) ?? null,
      is_disabled: (data.is_disabled as boolean | undefined) ?? null,
      minimum_pressure: (data.minimum_pressure as number | undefined) ?? null,
    };
  }

  /** `float(data.get("pressure", 0.0))`. */
  async getPressure(name: string): Promise<number> {
    const response = await this.get(`/api/v1/flavors/${name}/pressure`);
    if (!response.ok) throw new Error(`PlannerApiError: ${response.status}`);
    const data = (await response.json()) as Record<string, unknown>;
    return Number(data.pressure ?? 0);
  }

  /**
   * `stream_pressure`, with what it skips kept too: every line it read (`lines`) and the
   * pressure updates it yields (`updates`), a line without a `pressure` key being skipped.
   */
  streamPressure(name: string): {
    lines: string[];
    updates: number[];
    closed: Promise<void>;
    close(): void;
  } {
    const abort = new AbortController();
    const lines: string[] = [];
    const updates: number[] = [];
    const accept = (line: string) => {
      if (line === '') return;
      lines.push(line);
      let data: unknown;
      try {
        data = JSON.parse(line);
      } catch {
        return;
      }
      if (typeof data !== 'object' || data === null || Array.isArray(data) || !('pressure' in data)) return;
      updates.push(Number((data as { pressure: unknown }).pressure));
    };
    const closed = (async () => {
      const response = await this.get(`/api/v1/flavors/${name}/pressure?stream=true`, abort.signal);
      if (!response.ok || response.body === null) throw new Error(`PlannerApiError: ${response.status}`);
      const splitter = iterLines();
      const decoder = new TextDecoder();
      try {
        for await (const chunk of response.body) {
          for (const line of splitter.push(decoder.decode(chunk, { stream: true }))) accept(line);
        }
        for (const line of splitter.end()) accept(line);
      } catch {
        // Closed by the test.
      }
    })();
    return { lines, updates, closed, close: () => abort.abort() };
  }
}

const fixture = useDatabase('planner_compat_clients');
let planner: RunningPlanner;
const streams: { close(): void }[] = [];

beforeAll(async () => {
  planner = await startPlanner(plannerConfig(fixture.url, fixture.prefix), { host: '127.0.0.1' });
});

afterEach(async () => {
  for (const stream of streams.splice(0)) stream.close();
  await eventually(() => planner.app.pressureHub.size === 0);
});

afterAll(async () => {
  await planner?.close();
});

describe('pressure stream headers', () => {
  it('has the original’s content type, plus no-store and X-Accel-Buffering for proxies', async () => {
    await fixture.db.addFlavor(flavor('runner-app'));
    const abort = new AbortController();
    streams.push({ close: () => abort.abort() });
    const response = await fetch(`${planner.url}/api/v1/flavors/runner-app/pressure?stream=true`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      signal: abort.signal,
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/x-ndjson');
    expect(response.headers.get('cache-control')).toBe('no-cache, no-store');
    expect(response.headers.get('x-accel-buffering')).toBe('no');
    expect(response.headers.get('connection')).toBe('keep-alive');
  });
});

describe("github-runner-manager's planner client against this planner", () => {
  it('reads a flavor with every field it looks for', async () => {
    await fixture.db.addFlavor(
      flavor('runner-app', { labels: ['Self-Hosted', 'X64', 'jammy'], priority: 50, minimumPressure: 2 }),
    );
    const client = new RunnerManagerPlannerClient(planner.url, await generalToken(fixture.db, 'relation-1'));
    expect(await client.getFlavor('runner-app')).toEqual({
      name: 'runner-app',
      labels: ['self-hosted', 'x64', 'jammy'],
      priority: 50,
      is_disabled: false,
      minimum_pressure: 2,
    });
  });

  it('gets whole NDJSON lines from the stream, each a JSON object, even with U+2028 in a name', async () => {
    await fixture.db.addFlavor(flavor('runner-app', { labels: ['large'] }));
    // New names may not hold U+2028 any more; one stored before that (or imported) still streams.
    await fixture.sql.query(
      "INSERT INTO flavor (name, platform, labels, priority, is_disabled, minimum_pressure) VALUES ($1, 'github', '{odd}', 0, false, 0)",
      ['odd\u2028name'],
    );
    const client = new RunnerManagerPlannerClient(planner.url, ADMIN_TOKEN);
    const one = client.streamPressure('runner-app');
    const all = client.streamPressure('_');
    streams.push(one, all);
    await eventually(() => one.lines.length === 1 && all.lines.length === 1);
    await fixture.db.addJob(job(['large'], { createdAt: new Date() }));
    await eventually(() => one.lines.length === 2 && all.lines.length === 2);
    expect(one.lines).toEqual(['{"runner-app":0}', '{"runner-app":1}']);
    // Go's encoder escapes U+2028, which splitlines() would otherwise break the line at.
    expect(all.lines.map((line) => JSON.parse(line))).toEqual([
      { 'odd\u2028name': 0, 'runner-app': 0 },
      { 'odd\u2028name': 0, 'runner-app': 1 },
    ]);
  });

  it('finds no `pressure` key in the answers, like the original gives: 0 and no stream updates', async () => {
    // The client reads `{"pressure": n}`; the original planner, and this one, answer
    // `{"<flavor>": n}` (server.go `getFlavorPressure`), so only a flavor named "pressure" is read.
    await fixture.db.addFlavor(flavor('runner-app', { minimumPressure: 3 }));
    await fixture.db.addFlavor(flavor('pressure', { minimumPressure: 4 }));
    const client = new RunnerManagerPlannerClient(planner.url, ADMIN_TOKEN);
    expect(await client.getPressure('runner-app')).toBe(0);
    expect(await client.getPressure('pressure')).toBe(4);
    const stream = client.streamPressure('runner-app');
    streams.push(stream);
    await eventually(() => stream.lines.length === 1);
    expect(stream.lines).toEqual(['{"runner-app":3}']);
    expect(stream.updates).toEqual([]);
  });
});
