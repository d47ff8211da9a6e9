import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { freePort } from '../support/apps.js';
import { gitlabJobHook, useSystem } from '../support/system.js';
import { GITHUB_SECRET, GITLAB_WEBHOOK_TOKEN, sendGitHub, sendGitLab } from '../support/webhooks.js';

const system = useSystem('e2e_sec_exposure');
const ADMIN_TOKEN = `planner_v0_${randomBytes(15).toString('base64url').slice(0, 20)}`;

interface Answer {
  what: string;
  status: number;
  text: string;
}

async function answer(what: string, response: Promise<Response>): Promise<Answer> {
  const settled = await response;
  return {
    what,
    status: settled.status,
    text: `${JSON.stringify([...settled.headers])}\n${await settled.text()}`,
  };
}

describe('no secret in metrics or error responses', () => {
  it('after good and bad traffic, /metrics of every app and every error answer hold no secret', async () => {
    const env = { ADMIN_TOKEN };
    const gateway = await system.start('gateway', { ...env, GATEWAY_BODY_LIMIT: '4kb' });
    // Redis unreachable: the gateway's 503 path.
    const cutOff = await system.start('gateway', {
      ...env,
      REDIS_URL: `redis://127.0.0.1:${await freePort()}`,
    });
    const worker = await system.start('worker', env);
    const planner = await system.start('planner', env);
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
    const hook = (url: string, headers: Record<string, string>, body = '{}') =>
      fetch(`${url}/webhooks/${headers['x-gitlab-event'] === undefined ? 'github' : 'gitlab'}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body,
      });
    const signature = (body: string) =>
      `sha256=${createHmac('sha256', GITHUB_SECRET).update(body).digest('hex')}`;

    // Traffic that succeeds, so the metrics have series with labels.
    system.gitlab.setJob(380, { id: 91_001, tag_list: ['docker'] });
    expect(
      (
        await sendGitHub(gateway.url, {
          action: 'queued',
          workflow_job: { id: 91_000, labels: ['self-hosted'], created_at: '2026-11-28T10:00:00Z' },
        })
      ).status,
    ).toBe(202);
    expect((await sendGitLab(gateway.url, gitlabJobHook({ build_id: 91_001 }))).status).toBe(202);
    const created = await fetch(`${planner.url}/api/v1/auth/token/autoscaler`, {
      method: 'POST',
      headers: admin,
    });
    const { token } = (await created.json()) as { token: string };

    // Error answers, each carrying a near-miss of a real secret where the request has one. (404s
    // may echo the requested URL, so no secret is put in one: that would be the client's own input.)
    const big = 'x'.repeat(5_000);
    const errors = await Promise.all([
      answer(
        'gateway 401 bad signature',
        hook(gateway.url, { 'x-github-event': 'workflow_job', 'x-hub-signature-256': `${signature('{}')}0` }),
      ),
      answer('gateway 401 no signature', hook(gateway.url, { 'x-github-event': 'workflow_job' })),
      answer(
        'gateway 401 bad token',
        hook(gateway.url, { 'x-gitlab-event': 'Job Hook', 'x-gitlab-token': `${GITLAB_WEBHOOK_TOKEN}x` }),
      ),
      answer(
        'gateway 413',
        hook(gateway.url, { 'x-github-event': 'workflow_job', 'x-hub-signature-256': signature(big) }, big),
      ),
      answer(
        'gateway 415',
        fetch(`${gateway.url}/webhooks/gitlab`, {
          method: 'POST',
          headers: {
            'content-type': '@@@',
            'x-gitlab-event': 'Job Hook',
            'x-gitlab-token': GITLAB_WEBHOOK_TOKEN,
          },
          body: '{}',
        }),
      ),
      answer('gateway 404', fetch(`${gateway.url}/webhooks/bitbucket`, { method: 'POST', body: '{}' })),
      answer(
        'gateway 503',
        hook(cutOff.url, { 'x-github-event': 'workflow_job', 'x-hub-signature-256': signature('{}') }),
      ),
      answer('planner 400 no credential', fetch(`${planner.url}/api/v1/flavors`)),
      answer(
        'planner 400 wrong scheme',
        fetch(`${planner.url}/api/v1/flavors`, { headers: { authorization: `Basic ${ADMIN_TOKEN}` } }),
      ),
      answer(
        'planner 401 wrong token',
        fetch(`${planner.url}/api/v1/flavors`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}x` } }),
      ),
      answer(
        'planner 401 general token on admin route',
        fetch(`${planner.url}/api/v1/auth/token`, { headers: { authorization: `Bearer ${token}` } }),
      ),
      answer(
        'planner 409',
        fetch(`${planner.url}/api/v1/auth/token/autoscaler`, { method: 'POST', headers: admin }),
      ),
      answer(
        'planner 400 invalid payload',
        fetch(`${planner.url}/api/v1/flavors/f`, {
          method: 'POST',
          headers: admin,
          body: `{"platform": "${ADMIN_TOKEN}"`,
        }),
      ),
      answer('planner 404', fetch(`${planner.url}/api/v1/flavors/missing`, { headers: admin })),
      answer(
        'dashboard 401',
        fetch(`${planner.url}/admin/queues`, {
          headers: { authorization: `Basic ${Buffer.from(`ops:${ADMIN_TOKEN}x`).toString('base64')}` },
        }),
      ),
      answer('worker 404', fetch(`${worker.url}/missing`)),
    ]);
    await system.drained();

    // Each error class was really produced, so the check below covers them.
    expect(errors.map(({ what, status }) => `${what}: ${status}`)).toEqual(
      errors.map(({ what }) => `${what}: ${Number(/ (\d{3})/.exec(what)?.[1])}`),
    );
    const metrics: Answer[] = [];
    for (const app of [gateway, worker, planner]) {
      const scraped = await answer(`${app.name} /metrics`, fetch(`${app.url}/metrics`));
      expect(scraped.status).toBe(200);
      metrics.push(scraped);
    }
    expect(metrics.find(({ what }) => what.startsWith('gateway'))?.text).toContain('webhooks_enqueued_total');

    const secrets: Record<string, string> = {
      ADMIN_TOKEN,
      GITHUB_WEBHOOK_SECRET: GITHUB_SECRET,
      GITLAB_WEBHOOK_TOKEN,
      GITLAB_TOKEN: system.gitlab.token,
      'general token': token,
    };
    for (const { what, text } of [...errors, ...metrics]) {
      for (const [name, secret] of Object.entries(secrets)) {
        expect(text.includes(secret), `${name} appears in ${what}`).toBe(false);
      }
    }
  });
});
