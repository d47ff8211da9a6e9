import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { gitlabJobHook, useSystem } from '../support/system.js';
import { GITHUB_SECRET, GITLAB_WEBHOOK_TOKEN, sendGitHub, sendGitLab } from '../support/webhooks.js';

const system = useSystem('e2e_secrets');
const ADMIN_TOKEN = `planner_v0_${randomBytes(15).toString('base64url').slice(0, 20)}`;

describe('secrets in logs', () => {
  it('a full run at debug level prints no token, secret or signature', async () => {
    const env = { LOG_LEVEL: 'trace', ADMIN_TOKEN };
    const gateway = await system.start('gateway', env);
    const worker = await system.start('worker', env);
    const planner = await system.start('planner', env);
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

    // Webhooks, good and bad.
    system.gitlab.setJob(380, { id: 77_001, tag_list: ['docker'] });
    const signed = await sendGitHub(gateway.url, {
      action: 'queued',
      workflow_job: { id: 77_000, labels: ['self-hosted'], created_at: '2026-11-28T10:00:00Z' },
    });
    expect(signed.status).toBe(202);
    expect((await sendGitLab(gateway.url, gitlabJobHook({ build_id: 77_001 }))).status).toBe(202);
    const forged = await fetch(`${gateway.url}/webhooks/github`, {
      method: 'POST',
      headers: { 'x-github-event': 'workflow_job', 'x-hub-signature-256': `sha256=${'ab'.repeat(32)}` },
      body: '{}',
    });
    expect(forged.status).toBe(401);
    const wrongToken = await fetch(`${gateway.url}/webhooks/gitlab`, {
      method: 'POST',
      headers: { 'x-gitlab-event': 'Job Hook', 'x-gitlab-token': `${GITLAB_WEBHOOK_TOKEN}-not` },
      body: '{}',
    });
    expect(wrongToken.status).toBe(401);

    // Planner: a general token made, used, refused on an admin route, deleted, then refused.
    const created = await fetch(`${planner.url}/api/v1/auth/token/autoscaler`, {
      method: 'POST',
      headers: admin,
    });
    expect(created.status).toBe(201);
    const { token } = (await created.json()) as { token: string };
    const general = { authorization: `Bearer ${token}` };
    expect((await fetch(`${planner.url}/api/v1/flavors/_/pressure`, { headers: general })).status).not.toBe(
      401,
    );
    expect((await fetch(`${planner.url}/api/v1/flavors`, { headers: general })).status).toBe(401);
    expect(
      (await fetch(`${planner.url}/api/v1/flavors`, { headers: { authorization: 'Bearer nope' } })).status,
    ).toBe(401);
    expect((await fetch(`${planner.url}/admin/queues`)).status).toBe(401);
    const basic = Buffer.from(`ops:${ADMIN_TOKEN}`).toString('base64');
    expect(
      (await fetch(`${planner.url}/admin/queues`, { headers: { authorization: `Basic ${basic}` } })).status,
    ).toBe(200);
    await fetch(`${planner.url}/api/v1/auth/token/autoscaler`, { method: 'DELETE', headers: admin });
    expect((await fetch(`${planner.url}/api/v1/flavors/_/pressure`, { headers: general })).status).toBe(401);
    await system.drained();

    for (const app of [gateway, worker, planner]) await app.stop();
    const secrets = {
      ADMIN_TOKEN,
      'Basic credentials': basic,
      'general token': token,
      GITHUB_WEBHOOK_SECRET: GITHUB_SECRET,
      GITLAB_WEBHOOK_TOKEN,
      GITLAB_TOKEN: system.gitlab.token,
      'forged signature': 'ab'.repeat(32),
    };
    for (const app of [gateway, worker, planner]) {
      const output = app.output();
      // The run logged something, so the check below is not vacuous.
      expect(output.length, `${app.name} printed nothing`).toBeGreaterThan(0);
      for (const [what, secret] of Object.entries(secrets)) {
        expect(output.includes(secret), `${what} appears in the ${app.name} log`).toBe(false);
      }
    }
  });
});
