import { generateKeyPairSync, sign } from 'node:crypto';
import { loadConfig } from '@runner-planner/config';
import {
  createTestQueuePrefix,
  type FakeGitHub,
  type FakeGitHubJob,
  startFakeGitHub,
} from '@runner-planner/testkit';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createGitHubClient, createReconciler } from '../src/index.js';
import { GitHubInstallationMissingError, showGitHubJob } from '../src/reconcile/github.js';
import { GitHubAppInstallations } from '../src/reconcile/github-installations.js';
import { useDatabase } from './support.js';

const fixture = useDatabase('worker_reconcile_installations');
const queue = createTestQueuePrefix('reconcile-installations');
const APP_ID = 515_151;
const PERSONAL_TOKEN = 'ghp_personal-token';
const appKeys = generateKeyPairSync('rsa', { modulusLength: 2048 });
const appPrivateKey = appKeys.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
let github: FakeGitHub;

beforeAll(async () => {
  github = await startFakeGitHub(PERSONAL_TOKEN, {
    app: {
      id: APP_ID,
      publicKey: appKeys.publicKey,
      installations: [
        // One App, installed on two organisations: on every repository of one, a few of the other.
        { id: 101, account: 'alpha-org' },
        { id: 202, account: 'beta-org', repositories: ['granted'] },
        // Installed without the Actions permission: job look-ups are not its to make.
        { id: 303, account: 'hooks-only-org', permissions: { metadata: 'read', repository_hooks: 'write' } },
      ],
    },
  });
});
beforeEach(async () => {
  github.requests.length = 0;
  await queue.cleanup();
});
afterAll(async () => {
  await github?.close();
  await queue.cleanup();
});

const MINUTE = 60_000;
const ago = (minutes: number) => new Date(Date.now() - minutes * MINUTE).toISOString();
const COMPLETED: Omit<FakeGitHubJob, 'id'> = {
  status: 'completed',
  conclusion: 'success',
  started_at: ago(50),
  completed_at: ago(40),
  runner_id: 7,
  runner_name: 'runner-7',
};
const RUNNING: Omit<FakeGitHubJob, 'id'> = {
  status: 'in_progress',
  started_at: ago(50),
  runner_id: 7,
  runner_name: 'r',
};

/** A job we hold as queued whose last event was an hour ago; GitHub has it as `truth` (or not at all). */
async function staleJob(fullName: string, id: number, truth?: Omit<FakeGitHubJob, 'id'>) {
  await fixture.db.addJob({
    platform: 'github',
    id: String(id),
    labels: [],
    createdAt: new Date(Date.now() - 60 * MINUTE),
    startedAt: null,
    completedAt: null,
    raw: { queued: { repository: { full_name: fullName } } },
  });
  if (truth !== undefined) github.setJob(fullName, { id, ...truth });
  await fixture.sql.query(`UPDATE job SET updated_at = now() - interval '1 hour'`);
}

function reconcilerFor(env: Record<string, string>) {
  const warnings: string[] = [];
  const registry = new Registry();
  const config = loadConfig({
    GITHUB_API_URL: github.url,
    GITHUB_APP_ID: String(APP_ID),
    GITHUB_APP_PRIVATE_KEY: appPrivateKey,
    REDIS_URL: queue.redisUrl,
    QUEUE_PREFIX: queue.prefix,
    ...env,
  });
  const reconciler = createReconciler(config, fixture.db, registry, {
    warn: (message) => warnings.push(message),
  });
  return { reconciler, warnings, registry };
}

/** `METHOD path → status as auth` for the requests GitHub got, in order. */
const seen = (filter: (path: string) => boolean = () => true) =>
  github.requests
    .filter((r) => filter(r.path))
    .map((r) => `${r.method} ${r.path} → ${r.status} as ${r.auth}`);
const jobCalls = () => seen((path) => path.includes('/actions/jobs/')).sort();

async function completedAt(id: number) {
  const [job] = await fixture.db.listJobs('github', { withId: String(id) });
  return job?.completedAt ?? null;
}

describe('reconcile with GitHub App installations', () => {
  it("looks each stale job up with the token of its organisation's installation", async () => {
    await staleJob('alpha-org/api', 1, COMPLETED);
    await staleJob('alpha-org/web', 2, RUNNING);
    await staleJob('beta-org/granted', 3, COMPLETED);
    const tokensBefore = github.installationTokens.length;
    const { reconciler, warnings } = reconcilerFor({});
    try {
      const first = await reconciler.run();
      expect(first.stale).toMatchObject({ checked: 3, errors: 0, corrected: { completed: 2, started: 1 } });
      expect(jobCalls()).toEqual([
        'GET /repos/alpha-org/api/actions/jobs/1 → 200 as installation:101',
        'GET /repos/alpha-org/web/actions/jobs/2 → 200 as installation:101',
        'GET /repos/beta-org/granted/actions/jobs/3 → 200 as installation:202',
      ]);
      // One lookup per owner (alpha's installation reaches all its repositories), one token each.
      expect(seen((path) => path.endsWith('/installation')).sort()).toEqual([
        'GET /repos/alpha-org/api/installation → 200 as app',
        'GET /repos/beta-org/granted/installation → 200 as app',
      ]);
      expect(
        github.installationTokens
          .slice(tokensBefore)
          .map((t) => t.installationId)
          .sort(),
      ).toEqual([101, 202]);
      expect(await completedAt(1)).toBeInstanceOf(Date);
      expect(await completedAt(3)).toBeInstanceOf(Date);

      // The running job is still stale: looked up again with the cached id and token.
      github.requests.length = 0;
      await fixture.sql.query(`UPDATE job SET updated_at = now() - interval '1 hour'`);
      const second = await reconciler.run();
      expect(second.stale).toMatchObject({ checked: 1, errors: 0 });
      expect(seen()).toEqual(['GET /repos/alpha-org/web/actions/jobs/2 → 200 as installation:101']);
      expect(github.installationTokens).toHaveLength(tokensBefore + 2);
      expect(warnings).toEqual([]);
      expect(github.rejectedAppTokens).toBe(0);
    } finally {
      await reconciler.close();
    }
  });

  it('fails only the jobs of owners the App cannot reach, says so once, and does not ask again at once', async () => {
    await staleJob('alpha-org/api', 11, COMPLETED);
    await staleJob('gamma-org/tool', 12, COMPLETED);
    // Beta's installation was granted `granted` only.
    await staleJob('beta-org/secret', 13, COMPLETED);
    await staleJob('hooks-only-org/app', 14, COMPLETED);
    const { reconciler, warnings, registry } = reconcilerFor({});
    try {
      const report = await reconciler.run();
      expect(report.stale).toMatchObject({ checked: 1, errors: 3, corrected: { completed: 1, missing: 0 } });
      expect(await completedAt(11)).toBeInstanceOf(Date);
      // Not marked missing: nobody asked GitHub about them with a credential that could see them.
      expect(await completedAt(12)).toBeNull();
      expect(await completedAt(13)).toBeNull();
      expect(await completedAt(14)).toBeNull();
      expect(warnings.sort()).toEqual([
        `GitHub App ${APP_ID} is not installed on beta-org/secret`,
        `GitHub App ${APP_ID} is not installed on gamma-org/tool`,
        `installation 303 of GitHub App ${APP_ID} on hooks-only-org lacks the "actions: read" permission`,
      ]);
      const errors = (await registry.getSingleMetric('runner_planner_reconcile_errors_total')?.get())?.values;
      expect(errors).toEqual([{ value: 3, labels: { platform: 'github', kind: 'lookup' } }]);

      github.requests.length = 0;
      await fixture.sql.query(`UPDATE job SET updated_at = now() - interval '1 hour'`);
      const again = await reconciler.run();
      expect(again.stale).toMatchObject({ checked: 0, errors: 3 });
      // The 404s and the token's permissions are remembered: no request, no second warning.
      expect(seen()).toEqual([]);
      expect(warnings).toHaveLength(3);
    } finally {
      await reconciler.close();
    }
  });

  it('uses GITHUB_TOKEN for owners without an installation that may look jobs up', async () => {
    await staleJob('alpha-org/api', 21, COMPLETED);
    await staleJob('gamma-org/tool', 22, COMPLETED);
    await staleJob('hooks-only-org/app', 23, COMPLETED);
    const { reconciler, warnings } = reconcilerFor({ GITHUB_TOKEN: PERSONAL_TOKEN });
    try {
      const report = await reconciler.run();
      expect(report.stale).toMatchObject({ checked: 3, errors: 0, corrected: { completed: 3 } });
      expect(jobCalls()).toEqual([
        'GET /repos/alpha-org/api/actions/jobs/21 → 200 as installation:101',
        'GET /repos/gamma-org/tool/actions/jobs/22 → 200 as token',
        // Installed, but without the Actions permission.
        'GET /repos/hooks-only-org/app/actions/jobs/23 → 200 as token',
      ]);
      expect(warnings).toEqual([]);
    } finally {
      await reconciler.close();
    }
  });

  it('replaces an installation token GitHub says has expired and carries on', async () => {
    await staleJob('alpha-org/web', 31, RUNNING);
    const { reconciler } = reconcilerFor({});
    try {
      expect((await reconciler.run()).stale).toMatchObject({ checked: 1, errors: 0 });
      const tokens = github.installationTokens.length;
      github.expireInstallationTokens();
      github.requests.length = 0;
      await fixture.sql.query(`UPDATE job SET updated_at = now() - interval '1 hour'`);

      expect((await reconciler.run()).stale).toMatchObject({ checked: 1, errors: 0 });
      expect(seen()).toEqual([
        'GET /repos/alpha-org/web/actions/jobs/31 → 401 as none',
        'POST /app/installations/101/access_tokens → 201 as app',
        'GET /repos/alpha-org/web/actions/jobs/31 → 200 as installation:101',
      ]);
      expect(github.installationTokens).toHaveLength(tokens + 1);
    } finally {
      await reconciler.close();
    }
  });

  it('mints a new token before the cached one runs out', async () => {
    github.setJob('alpha-org/web', { id: 41, ...RUNNING });
    let clock = Date.now();
    const appClient = createGitHubClient({
      baseUrl: github.url,
      app: { appId: APP_ID, privateKey: appPrivateKey },
    });
    const client = createGitHubClient({
      baseUrl: github.url,
      installations: new GitHubAppInstallations({ appClient, appId: APP_ID, now: () => clock }),
    });
    const tokens = github.installationTokens.length;
    expect(await showGitHubJob(client, 'alpha-org/web', '41')).toMatchObject({ status: 'in_progress' });
    expect(await showGitHubJob(client, 'alpha-org/web', '41')).toMatchObject({ status: 'in_progress' });
    expect(github.installationTokens).toHaveLength(tokens + 1);
    // 57 minutes on, the hour-long token has 3 left: replaced before it is sent.
    clock += 57 * MINUTE;
    github.requests.length = 0;
    expect(await showGitHubJob(client, 'alpha-org/web', '41')).toMatchObject({ status: 'in_progress' });
    expect(github.installationTokens).toHaveLength(tokens + 2);
    expect(seen()).toEqual([
      'POST /app/installations/101/access_tokens → 201 as app',
      'GET /repos/alpha-org/web/actions/jobs/41 → 200 as installation:101',
    ]);
  });

  it('asks again about an owner once the remembered 404 is old', async () => {
    let clock = Date.now();
    const appClient = createGitHubClient({
      baseUrl: github.url,
      app: { appId: APP_ID, privateKey: appPrivateKey },
    });
    const client = createGitHubClient({
      baseUrl: github.url,
      installations: new GitHubAppInstallations({
        appClient,
        appId: APP_ID,
        missTtlMs: 5 * MINUTE,
        now: () => clock,
      }),
    });
    const lookUp = () => showGitHubJob(client, 'gamma-org/tool', '1');
    await expect(lookUp()).rejects.toThrow(GitHubInstallationMissingError);
    await expect(lookUp()).rejects.toThrow(
      `GitHub App ${APP_ID} is not installed on gamma-org/tool, and GITHUB_TOKEN is not set`,
    );
    expect(seen()).toEqual(['GET /repos/gamma-org/tool/installation → 404 as app']);
    clock += 5 * MINUTE + 1;
    await expect(lookUp()).rejects.toThrow(GitHubInstallationMissingError);
    expect(seen()).toHaveLength(2);
  });

  it('redelivers failed deliveries of repository and organisation hooks with installation tokens', async () => {
    const failed = { status: 'Invalid HTTP Response: 502', status_code: 502, delivered_at: ago(2) };
    const repoDelivery = github.addDelivery('repos/alpha-org/api', 7, failed);
    const orgDelivery = github.addDelivery('orgs/beta-org', 8, failed);
    github.addDelivery('orgs/gamma-org', 9, failed);
    const { reconciler, warnings } = reconcilerFor({
      GITHUB_HOOKS: 'repo:alpha-org/api:7,org:beta-org:8,org:gamma-org:9',
    });
    try {
      const report = await reconciler.run();
      // Gamma has no installation: its hook is an error, the other two are redelivered.
      expect(report.redelivery).toEqual({ failed: 2, redelivered: 2, errors: 1 });
      expect(github.redeliveries).toEqual(expect.arrayContaining([repoDelivery.id, orgDelivery.id]));
      expect(seen((path) => path.includes('/hooks/'))).toEqual([
        'GET /repos/alpha-org/api/hooks/7/deliveries → 200 as installation:101',
        `POST /repos/alpha-org/api/hooks/7/deliveries/${repoDelivery.id}/attempts → 202 as installation:101`,
        'GET /orgs/beta-org/hooks/8/deliveries → 200 as installation:202',
        `POST /orgs/beta-org/hooks/8/deliveries/${orgDelivery.id}/attempts → 202 as installation:202`,
      ]);
      expect(warnings).toEqual([`GitHub App ${APP_ID} is not installed on gamma-org`]);
    } finally {
      await reconciler.close();
    }
  });

  it('uses only the pinned installations of GITHUB_APP_INSTALLATION_IDS, looking none up', async () => {
    await staleJob('alpha-org/api', 51, COMPLETED);
    await staleJob('beta-org/granted', 52, COMPLETED);
    const { reconciler, warnings } = reconcilerFor({ GITHUB_APP_INSTALLATION_IDS: 'Alpha-Org:101' });
    try {
      const report = await reconciler.run();
      expect(report.stale).toMatchObject({ checked: 1, errors: 1 });
      expect(seen()).toEqual([
        'POST /app/installations/101/access_tokens → 201 as app',
        'GET /repos/alpha-org/api/actions/jobs/51 → 200 as installation:101',
      ]);
      expect(warnings).toEqual(['beta-org is not in GITHUB_APP_INSTALLATION_IDS']);
    } finally {
      await reconciler.close();
    }
  });
});

describe('fake GitHub: App JWTs and installation tokens as GitHub checks them', () => {
  /** An App JWT signed by hand (RS256), to try claims @octokit/auth-app would never send. */
  function appJwt(claims: Record<string, number | string>) {
    const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const unsigned = `${part({ alg: 'RS256', typ: 'JWT' })}.${part(claims)}`;
    return `${unsigned}.${sign('sha256', Buffer.from(unsigned), appKeys.privateKey).toString('base64url')}`;
  }
  const mint = (installationId: number, jwt: string) =>
    fetch(`${github.url}/app/installations/${installationId}/access_tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${jwt}` },
    });

  it('mints a token for a JWT that expires within 10 minutes, and refuses any other', async () => {
    const now = Math.floor(Date.now() / 1000);
    const minted = await mint(202, appJwt({ iss: APP_ID, iat: now - 60, exp: now + 9 * 60 }));
    expect(minted.status).toBe(201);
    const body = (await minted.json()) as Record<string, unknown>;
    expect(body).toEqual({
      token: expect.stringMatching(/^ghs_/),
      expires_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      permissions: {
        actions: 'read',
        metadata: 'read',
        organization_hooks: 'write',
        repository_hooks: 'write',
      },
      repository_selection: 'selected',
    });
    expect(Date.parse(String(body.expires_at)) - Date.now()).toBeGreaterThan(59 * MINUTE);
    for (const claims of [
      { iss: APP_ID, iat: now - 60, exp: now + 11 * 60 },
      { iss: APP_ID, iat: now - 900, exp: now - 300 },
      { iss: 999, iat: now - 60, exp: now + 9 * 60 },
    ]) {
      expect((await mint(202, appJwt(claims))).status).toBe(401);
    }
    expect((await mint(999, appJwt({ iss: APP_ID, iat: now - 60, exp: now + 9 * 60 }))).status).toBe(404);
  });

  it('lets an installation token reach its own granted repositories only, and never the JWT endpoints', async () => {
    const now = Math.floor(Date.now() / 1000);
    const { token } = (await (
      await mint(202, appJwt({ iss: APP_ID, iat: now - 60, exp: now + 9 * 60 }))
    ).json()) as { token: string };
    github.setJob('beta-org/granted', { id: 61, ...RUNNING });
    github.setJob('alpha-org/api', { id: 62, ...RUNNING });
    const as = async (credential: string, path: string, method = 'GET') =>
      (await fetch(`${github.url}${path}`, { method, headers: { authorization: `token ${credential}` } }))
        .status;
    expect(await as(token, '/repos/beta-org/granted/actions/jobs/61')).toBe(200);
    // Another organisation's repository, or one not granted: GitHub hides it.
    expect(await as(token, '/repos/alpha-org/api/actions/jobs/62')).toBe(404);
    expect(await as(token, '/repos/beta-org/secret/actions/jobs/61')).toBe(404);
    // The installation endpoints take the App's JWT only.
    expect(await as(token, '/repos/beta-org/granted/installation')).toBe(401);
    expect(await as(PERSONAL_TOKEN, '/app/installations/202/access_tokens', 'POST')).toBe(401);
    github.expireInstallationTokens();
    expect(await as(token, '/repos/beta-org/granted/actions/jobs/61')).toBe(401);
  });
});
