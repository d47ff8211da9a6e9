import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, cleanEnv, runCli } from './support.js';

interface Seen {
  method: string;
  path: string;
  auth: string;
  body: Record<string, unknown>;
}

/** A forge API on 127.0.0.1 that keeps hooks in memory, enough for the real @octokit and @gitbeaker clients. */
function fakeForge(hooksPath: RegExp, urlOf: (hook: Record<string, unknown>) => unknown) {
  const seen: Seen[] = [];
  const hooks: Record<string, unknown>[] = [];
  const server: Server = createServer(async (request: IncomingMessage, response) => {
    let text = '';
    for await (const chunk of request) text += chunk;
    const path = (request.url ?? '').split('?')[0] ?? '';
    const body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    seen.push({
      method: request.method ?? '',
      path,
      auth: String(request.headers.authorization ?? request.headers['private-token'] ?? ''),
      body,
    });
    const send = (status: number, value: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(value));
    };
    const match = hooksPath.exec(path);
    if (match === null) return send(404, { message: 'Not Found' });
    const id = match[1] === undefined ? undefined : Number(match[1]);
    if (request.method === 'GET' && id === undefined) return send(200, hooks);
    if (request.method === 'POST' && id === undefined) {
      const hook = { ...body, id: hooks.length + 1 };
      hooks.push(hook);
      return send(201, hook);
    }
    const hook = hooks.find((h) => h.id === id);
    if (hook === undefined) return send(404, { message: 'Not Found' });
    Object.assign(hook, body);
    return send(200, hook);
  });
  return {
    seen,
    hooks,
    urls: () => hooks.map(urlOf),
    start: () =>
      new Promise<string>((resolve) =>
        server.listen(0, '127.0.0.1', () =>
          resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
        ),
      ),
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const github = fakeForge(
  /^\/repos\/octo\/repo\/hooks(?:\/(\d+))?$/,
  (hook) => (hook.config as { url: string }).url,
);
const gitlab = fakeForge(/^\/api\/v4\/projects\/group%2Fproject\/hooks(?:\/(\d+))?$/, (hook) => hook.url);
// Organisation and group hooks live on their own fakes: only `octo-org` and `ci-group` exist.
const githubOrg = fakeForge(
  /^\/orgs\/octo-org\/hooks(?:\/(\d+))?$/,
  (hook) => (hook.config as { url: string }).url,
);
const gitlabGroup = fakeForge(/^\/api\/v4\/groups\/ci-group\/hooks(?:\/(\d+))?$/, (hook) => hook.url);
let orgEnv: NodeJS.ProcessEnv;
let cwd: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  assertBuilt();
  cwd = await mkdtemp(join(tmpdir(), 'rp-cli-webhook-'));
  env = cleanEnv({
    GITHUB_API_URL: await github.start(),
    GITHUB_TOKEN: 'ghp_test',
    GITHUB_WEBHOOK_SECRET: 'gh-secret-0123456789,old-secret-0123456789',
    GITLAB_URL: await gitlab.start(),
    GITLAB_TOKEN: 'glpat-test',
    GITLAB_WEBHOOK_TOKEN: 'gl-token-0123456789ab',
  });
  orgEnv = { ...env, GITHUB_API_URL: await githubOrg.start(), GITLAB_URL: await gitlabGroup.start() };
});

afterAll(async () => {
  await github.stop();
  await gitlab.stop();
  await githubOrg.stop();
  await gitlabGroup.stop();
  if (cwd) await rm(cwd, { recursive: true, force: true });
});

/** Runs a `webhook register … --json` command and expects it to have created hook 1 for `url`. */
async function expectHookCreated(args: string[], runEnv: NodeJS.ProcessEnv, url: string): Promise<void> {
  const result = await runCli(args, { env: runEnv, cwd });
  expect(result.code, result.stderr).toBe(0);
  expect(JSON.parse(result.stdout)).toEqual({ action: 'created', id: 1, url });
}

describe('webhook register', () => {
  it('creates a GitHub repository hook, then updates it instead of adding a second', async () => {
    const args = [
      'webhook',
      'register',
      'github',
      '--repo',
      'octo/repo',
      '--url',
      'https://rp.example.com/',
      '--json',
    ];
    await expectHookCreated(args, env, 'https://rp.example.com/webhooks/github');
    const created = github.seen.find((request) => request.method === 'POST');
    expect(created?.auth).toBe('token ghp_test');
    expect(created?.body).toMatchObject({
      name: 'web',
      events: ['workflow_job'],
      config: {
        url: 'https://rp.example.com/webhooks/github',
        content_type: 'json',
        secret: 'gh-secret-0123456789',
      },
    });
    const second = await runCli(args, { env, cwd });
    expect(JSON.parse(second.stdout)).toMatchObject({ action: 'updated', id: 1 });
    expect(github.urls()).toEqual(['https://rp.example.com/webhooks/github']);
  });

  it('creates a GitLab project hook for job events with the token', async () => {
    const args = [
      'webhook',
      'register',
      'gitlab',
      '--project',
      'group/project',
      '--url',
      'https://rp.example.com',
      '--json',
    ];
    await expectHookCreated(args, env, 'https://rp.example.com/webhooks/gitlab');
    const created = gitlab.seen.find((request) => request.method === 'POST');
    expect(created?.auth).toBe('glpat-test');
    expect(created?.body).toMatchObject({
      url: 'https://rp.example.com/webhooks/gitlab',
      token: 'gl-token-0123456789ab',
      job_events: true,
    });
    expect(JSON.parse((await runCli(args, { env, cwd })).stdout)).toMatchObject({ action: 'updated', id: 1 });
    expect(gitlab.urls()).toEqual(['https://rp.example.com/webhooks/gitlab']);
  });

  it('explains bad arguments and forge errors with exit 1', async () => {
    const both = await runCli(
      ['webhook', 'register', 'github', '--repo', 'a/b', '--org', 'a', '--url', 'https://x'],
      { env, cwd },
    );
    expect(both.code).toBe(1);
    expect(both.stderr).toContain('exactly one of --repo');
    const noUrl = await runCli(['webhook', 'register', 'github', '--repo', 'octo/repo'], { env, cwd });
    expect(noUrl.code).toBe(1);
    expect(noUrl.stderr).toContain('pass --url');
    const missing = await runCli(
      ['webhook', 'register', 'github', '--repo', 'octo/missing', '--url', 'https://x'],
      { env, cwd },
    );
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('GitHub refused: 404');
  });
});

describe('webhook register for an organisation or a group', () => {
  it('creates a GitHub organisation hook, then updates it instead of adding a second', async () => {
    const args = ['webhook', 'register', 'github', '--org', 'octo-org', '--url', 'https://rp.example.com'];
    await expectHookCreated([...args, '--json'], orgEnv, 'https://rp.example.com/webhooks/github');
    const created = githubOrg.seen.find((request) => request.method === 'POST');
    expect(created?.path).toBe('/orgs/octo-org/hooks');
    expect(created?.auth).toBe('token ghp_test');
    expect(created?.body).toMatchObject({
      name: 'web',
      active: true,
      events: ['workflow_job'],
      config: {
        url: 'https://rp.example.com/webhooks/github',
        content_type: 'json',
        secret: 'gh-secret-0123456789',
      },
    });
    const second = await runCli(args, { env: orgEnv, cwd });
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toBe('webhook 1 updated on octo-org: https://rp.example.com/webhooks/github\n');
    expect(githubOrg.seen.find((request) => request.method === 'PATCH')?.path).toBe('/orgs/octo-org/hooks/1');
    expect(githubOrg.urls()).toEqual(['https://rp.example.com/webhooks/github']);
  });

  it('creates a GitLab group hook for job events, then updates it', async () => {
    const args = ['webhook', 'register', 'gitlab', '--group', 'ci-group', '--url', 'https://rp.example.com'];
    await expectHookCreated([...args, '--json'], orgEnv, 'https://rp.example.com/webhooks/gitlab');
    const created = gitlabGroup.seen.find((request) => request.method === 'POST');
    expect(created?.path).toBe('/api/v4/groups/ci-group/hooks');
    expect(created?.auth).toBe('glpat-test');
    expect(created?.body).toMatchObject({
      url: 'https://rp.example.com/webhooks/gitlab',
      token: 'gl-token-0123456789ab',
      job_events: true,
      push_events: false,
    });
    const second = await runCli([...args, '--json'], { env: orgEnv, cwd });
    expect(JSON.parse(second.stdout)).toMatchObject({ action: 'updated', id: 1 });
    expect(gitlabGroup.seen.find((request) => request.method === 'PUT')?.path).toBe(
      '/api/v4/groups/ci-group/hooks/1',
    );
    expect(gitlabGroup.urls()).toEqual(['https://rp.example.com/webhooks/gitlab']);
  });

  it('says which organisation or group was not found, with exit 1 and no hook created', async () => {
    const before = { github: githubOrg.hooks.length, gitlab: gitlabGroup.hooks.length };
    const org = await runCli(
      ['webhook', 'register', 'github', '--org', 'no-such-org', '--url', 'https://rp.example.com'],
      { env: orgEnv, cwd },
    );
    expect(org.code).toBe(1);
    expect(org.stdout).toBe('');
    expect(org.stderr).toContain(
      'GitHub refused: 404, organisation no-such-org not found, or GITHUB_TOKEN may not admin its hooks (needs admin:org_hook)',
    );
    const group = await runCli(
      ['webhook', 'register', 'gitlab', '--group', 'no-such-group', '--url', 'https://rp.example.com'],
      { env: orgEnv, cwd },
    );
    expect(group.code).toBe(1);
    expect(group.stdout).toBe('');
    expect(group.stderr).toContain('GitLab refused: 404, group no-such-group not found');
    const both = await runCli(
      ['webhook', 'register', 'gitlab', '--project', 'a/b', '--group', 'ci-group', '--url', 'https://x'],
      { env: orgEnv, cwd },
    );
    expect(both.code).toBe(1);
    expect(both.stderr).toContain('give exactly one of --project P or --group G');
    expect({ github: githubOrg.hooks.length, gitlab: gitlabGroup.hooks.length }).toEqual(before);
  });
});
