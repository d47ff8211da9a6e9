import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningPlanner, startPlanner } from '../src/index.js';
import {
  ADMIN_TOKEN,
  flavor,
  job,
  type OpenStream,
  openPressureStream,
  plannerConfig,
  useDatabase,
} from './support.js';

/**
 * The original planner charm's flavor reconcile (canonical/github-runner-operators,
 * charms/planner-operator/src/charm.py `_sync_managed_flavors`, through its client
 * src/planner.py), step for step as that code reads, written here from reading it, run against a
 * running planner over HTTP. Each call is the client's: a `requests` call with the admin token,
 * a non-2xx status raised as an error, except 409 on create and 404 on delete, which it takes as
 * done.
 */

interface PlannerFlavor {
  name: string;
  platform: string;
  labels: string[];
  priority: number;
  minimum_pressure: number;
  is_disabled: boolean;
}

/** What one planner relation declares (the charm's RelationFlavorConfig). */
interface DeclaredFlavor {
  name: string;
  platform: string;
  labels: string[];
  priority: number;
  minimum_pressure: number;
}

class PlannerError extends Error {
  constructor(
    readonly status: number,
    body: string,
  ) {
    super(`HTTP error ${status}: ${body}`);
  }
}

/** planner.py's PlannerClient, with every call recorded. */
class CharmPlannerClient {
  readonly calls: string[] = [];

  constructor(
    private readonly baseUrl: string,
    private readonly adminToken: string,
  ) {}

  private async request(method: string, path: string, json?: unknown): Promise<Response> {
    this.calls.push(`${method} ${path}`);
    const headers: Record<string, string> = { authorization: `Bearer ${this.adminToken}` };
    if (json !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers,
      ...(json === undefined ? {} : { body: JSON.stringify(json) }),
    });
    if (response.status >= 400) throw new PlannerError(response.status, await response.text());
    return response;
  }

  /** `list_flavors`: every flavor the planner lists, each field read by key (a missing one raises). */
  async listFlavors(): Promise<PlannerFlavor[]> {
    const data = (await (await this.request('GET', '/api/v1/flavors')).json()) as Record<string, unknown>[];
    return data.map((item) => {
      for (const key of ['name', 'platform', 'labels', 'priority', 'minimum_pressure', 'is_disabled']) {
        if (!(key in item)) throw new Error(`KeyError: ${key}`);
      }
      return item as unknown as PlannerFlavor;
    });
  }

  /** `create_flavor`: 409 means it exists already, which the client takes as done. */
  async createFlavor(declared: DeclaredFlavor, isDisabled = false): Promise<void> {
    try {
      await this.request('POST', `/api/v1/flavors/${declared.name}`, {
        platform: declared.platform,
        labels: declared.labels,
        priority: declared.priority,
        minimum_pressure: declared.minimum_pressure,
        is_disabled: isDisabled,
      });
    } catch (err) {
      if (!(err instanceof PlannerError && err.status === 409)) throw err;
    }
  }

  /** `delete_flavor`: 404 is taken as already deleted. */
  async deleteFlavor(name: string): Promise<void> {
    try {
      await this.request('DELETE', `/api/v1/flavors/${name}`);
    } catch (err) {
      if (!(err instanceof PlannerError && err.status === 404)) throw err;
    }
  }

  /** The calls that change something on the planner. */
  mutations(): string[] {
    return this.calls.filter((call) => !call.startsWith('GET '));
  }
}

/** Python's `==` on the two flavors as the charm compares them: labels as ordered lists. */
function sameFlavor(existing: PlannerFlavor, wanted: DeclaredFlavor): boolean {
  return (
    existing.platform === wanted.platform &&
    existing.labels.length === wanted.labels.length &&
    existing.labels.every((label, i) => label === wanted.labels[i]) &&
    existing.priority === wanted.priority &&
    existing.minimum_pressure === wanted.minimum_pressure
  );
}

/**
 * `_sync_managed_flavors`: list the planner's flavors; delete the ones no relation declares;
 * delete and re-create a declared one that differs in platform, labels, priority or minimum
 * pressure (create does not update); create the declared ones that are missing.
 */
async function syncManagedFlavors(client: CharmPlannerClient, wanted: DeclaredFlavor[]): Promise<void> {
  const existing = await client.listFlavors();
  const wantedByName = new Map(wanted.map((declared) => [declared.name, declared]));
  const existingNames = new Set<string>();
  for (const flavor of existing) {
    existingNames.add(flavor.name);
    const declared = wantedByName.get(flavor.name);
    if (declared === undefined) {
      await client.deleteFlavor(flavor.name);
    } else if (!sameFlavor(flavor, declared)) {
      await client.deleteFlavor(flavor.name);
      await client.createFlavor(declared);
    }
  }
  for (const declared of wanted) {
    if (!existingNames.has(declared.name)) await client.createFlavor(declared);
  }
}

const fixture = useDatabase('planner_charm_reconcile');
let planner: RunningPlanner;
let stream: OpenStream | undefined;

beforeAll(async () => {
  planner = await startPlanner(plannerConfig(fixture.url, fixture.prefix), { host: '127.0.0.1' });
});

afterAll(async () => {
  stream?.close();
  await planner?.close();
});

/** Two runner relations, as the github-runner charm fills the relation data (labels in its order). */
const DECLARED: DeclaredFlavor[] = [
  {
    name: 'large',
    platform: 'github',
    labels: ['self-hosted', 'noble', 'x64', 'large'],
    priority: 50,
    minimum_pressure: 0,
  },
  { name: 'small', platform: 'github', labels: ['self-hosted'], priority: 10, minimum_pressure: 2 },
];

describe("the planner charm's flavor reconcile against this planner", () => {
  it('creates what is declared, then makes no call that changes anything; a GitLab flavor survives', async () => {
    const client = new CharmPlannerClient(planner.url, ADMIN_TOKEN);
    // Before the charm: a GitHub flavor nobody declares (made by hand), one declared flavor with
    // the labels in another order, and a GitLab flavor added through the CLI's path.
    await client.createFlavor({ ...DECLARED[1]!, name: 'manual-debug', labels: ['debug'] });
    await client.createFlavor({ ...DECLARED[0]!, labels: ['large', 'x64', 'noble', 'self-hosted'] });
    await fixture.db.addFlavor(flavor('gl-docker', { platform: 'gitlab', labels: ['docker'], priority: 5 }));
    const gitlabBefore = await fixture.db.getFlavor('gl-docker');
    client.calls.length = 0;

    await syncManagedFlavors(client, DECLARED);
    expect(client.mutations()).toEqual([
      'DELETE /api/v1/flavors/large',
      'POST /api/v1/flavors/large',
      'DELETE /api/v1/flavors/manual-debug',
      'POST /api/v1/flavors/small',
    ]);
    expect(await client.listFlavors()).toEqual(
      DECLARED.map((declared) => ({ ...declared, is_disabled: false })),
    );

    // Jobs and a pressure stream on a declared flavor, which a re-creation would disturb.
    await fixture.db.addJob(job(['noble', 'large'], { createdAt: new Date() }));
    stream = await openPressureStream(planner.url, 'large');
    expect(await stream.lines.next()).toBe('{"large":1}');

    client.calls.length = 0;
    await syncManagedFlavors(client, DECLARED);
    expect(client.calls).toEqual(['GET /api/v1/flavors']);
    expect(client.mutations()).toEqual([]);

    // The stream is still the same one, and still live.
    await fixture.db.addJob(job(['large'], { createdAt: new Date() }));
    expect(await stream.lines.next(2_000)).toBe('{"large":2}');
    expect(await fixture.db.getFlavor('gl-docker')).toEqual(gitlabBefore);
    const all = await fetch(`${planner.url}/api/v1/flavors?platform=all`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(((await all.json()) as PlannerFlavor[]).map((f) => f.name)).toEqual([
      'gl-docker',
      'large',
      'small',
    ]);
  });
});
