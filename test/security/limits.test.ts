import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { gitlabJobHook, useSystem } from '../support/system.js';
import {
  GITHUB_SECRET,
  GITLAB_WEBHOOK_TOKEN,
  sendGitHub,
  sendGitLab,
  workflowJobExamples,
} from '../support/webhooks.js';

const system = useSystem('e2e_sec_limits');
const ADMIN_TOKEN = `planner_v0_${randomBytes(15).toString('base64url').slice(0, 20)}`;
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

function signed(body: string): Record<string, string> {
  return {
    'content-type': 'application/json',
    'x-github-event': 'workflow_job',
    'x-github-delivery': randomUUID(),
    'x-hub-signature-256': `sha256=${createHmac('sha256', GITHUB_SECRET).update(body).digest('hex')}`,
  };
}

describe('gateway limits', () => {
  it('answers 429 once an address keeps failing verification, and never limits a valid webhook', async () => {
    const gateway = await system.start('gateway', { GATEWAY_AUTH_FAILURE_LIMIT: '5' });
    const forged = () =>
      fetch(`${gateway.url}/webhooks/github`, {
        method: 'POST',
        headers: { ...signed('{}'), 'x-hub-signature-256': `sha256=${'0'.repeat(64)}` },
        body: '{}',
      });
    const wrongToken = () =>
      fetch(`${gateway.url}/webhooks/gitlab`, {
        method: 'POST',
        headers: { 'x-gitlab-event': 'Job Hook', 'x-gitlab-token': `${GITLAB_WEBHOOK_TOKEN}x` },
        body: '{}',
      });

    for (let i = 0; i < 4; i += 1) expect((await forged()).status).toBe(401);
    expect((await wrongToken()).status).toBe(401);
    // Over the limit: both routes share the count of the address.
    const limited = await forged();
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await limited.json()).toEqual({ error: expect.stringMatching(/failed verification/) });
    expect((await wrongToken()).status).toBe(429);

    // Valid webhooks from the same address, far more of them than the limit: all accepted.
    const [example] = workflowJobExamples();
    const accepted = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        i % 2 === 0
          ? sendGitHub(gateway.url, {
              ...example,
              workflow_job: { ...example?.workflow_job, id: 800_000 + i },
            })
          : sendGitLab(gateway.url, gitlabJobHook({ build_id: 800_000 + i })),
      ),
    );
    expect(accepted.map((response) => response.status)).toEqual(Array(60).fill(202));
    expect((await forged()).status).toBe(429);

    const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
    expect(metrics).toMatch(/webhooks_rejected_total\{platform="github",reason="too_many_failures"\} 2/);
  });

  it('accepts a signed GitHub body of exactly GATEWAY_GITHUB_BODY_LIMIT (default 512 KiB) and a GitLab one of GATEWAY_BODY_LIMIT (default 1 MiB); one byte more: 413', async () => {
    const gateway = await system.start('gateway');
    const exactly = (limit: number) => {
      const frame = JSON.stringify({ action: 'waiting', padding: '' });
      const body = frame.replace('""', `"${'x'.repeat(limit - frame.length)}"`);
      expect(Buffer.byteLength(body)).toBe(limit);
      return body;
    };
    const github = (body: string) =>
      fetch(`${gateway.url}/webhooks/github`, { method: 'POST', headers: signed(body), body });
    const gitlab = (body: string) =>
      fetch(`${gateway.url}/webhooks/gitlab`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-gitlab-event': 'Job Hook',
          'x-gitlab-token': GITLAB_WEBHOOK_TOKEN,
          'x-gitlab-event-uuid': randomUUID(),
        },
        body,
      });

    const githubLimit = 512 * 1024;
    expect((await github(exactly(githubLimit))).status).toBe(202);
    const overGitHub = await github(`${exactly(githubLimit)} `);
    expect(overGitHub.status).toBe(413);
    expect(await overGitHub.json()).toEqual({
      error: `body is larger than ${githubLimit} bytes (GATEWAY_GITHUB_BODY_LIMIT)`,
    });

    const gitlabLimit = 1024 * 1024;
    expect((await gitlab(exactly(gitlabLimit))).status).toBe(202);
    const overGitLab = await gitlab(`${exactly(gitlabLimit)} `);
    expect(overGitLab.status).toBe(413);
    expect(await overGitLab.json()).toEqual({
      error: `body is larger than ${gitlabLimit} bytes (GATEWAY_BODY_LIMIT)`,
    });
  });
});

describe('planner rate limit', () => {
  it('answers 429 after PLANNER_RATE_LIMIT requests a minute from one address, whatever the credential; probes stay open', async () => {
    const planner = await system.start('planner', { ADMIN_TOKEN, PLANNER_RATE_LIMIT: '20' });
    const flavors = (headers: Record<string, string>) => fetch(`${planner.url}/api/v1/flavors`, { headers });
    for (let i = 0; i < 20; i += 1) expect((await flavors(admin)).status, `request ${i + 1}`).toBe(200);

    const limited = await flavors(admin);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    const text = await limited.text();
    expect(text).toMatch(/^Rate limit exceeded/);
    expect(text).not.toContain(ADMIN_TOKEN);
    // Per address: another credential, or none, or the dashboard, does not get a fresh allowance.
    expect((await flavors({ authorization: `Bearer ${'A'.repeat(43)}` })).status).toBe(429);
    expect((await fetch(`${planner.url}/api/v1/flavors/_/pressure`)).status).toBe(429);
    expect((await fetch(`${planner.url}/admin/queues`)).status).toBe(429);
    // Orchestrator probes and metric scrapes are not limited.
    expect((await fetch(`${planner.url}/health`)).status).toBe(200);
    expect((await fetch(`${planner.url}/metrics`)).status).toBe(200);
  });

  it('allows 600 requests a minute by default', async () => {
    const planner = await system.start('planner', { ADMIN_TOKEN });
    const statuses: number[] = [];
    for (let batch = 0; batch < 601; batch += 50) {
      const size = Math.min(50, 601 - batch);
      const responses = await Promise.all(
        Array.from({ length: size }, () => fetch(`${planner.url}/api/v1/flavors`, { headers: admin })),
      );
      statuses.push(...responses.map((response) => response.status));
    }
    expect(statuses.slice(0, 600).filter((status) => status !== 200)).toEqual([]);
    expect(statuses[600]).toBe(429);
  });
});
