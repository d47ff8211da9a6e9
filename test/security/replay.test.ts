import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AppProcess } from '../support/apps.js';
import { gitlabJobHook, useSystem } from '../support/system.js';
import { GITLAB_WEBHOOK_TOKEN, sendGitHub, workflowJobExamples } from '../support/webhooks.js';
import { sleep } from './slow-client.js';

// Issue 12: a captured signed GitHub body re-sent with new X-GitHub-Delivery ids (the id is not
// signed) was queued every time; with GITLAB_WEBHOOK_SIGNING_TOKEN set, a GitLab request without
// the signature headers was accepted on the static X-Gitlab-Token alone.
const system = useSystem('e2e_sec_replay');
const SIGNING_TOKEN = `whsec_${randomBytes(32).toString('base64')}`;
const WINDOW_MS = 1_500;

/** `webhook-signature` as the Standard Webhooks spec has GitLab compute it. */
function standardSignature(id: string, seconds: number, body: string): string {
  const key = Buffer.from(SIGNING_TOKEN.slice('whsec_'.length), 'base64');
  return `v1,${createHmac('sha256', key).update(`${id}.${seconds}.${body}`).digest('base64')}`;
}
let gateway: AppProcess;

beforeAll(async () => {
  gateway = await system.start('gateway', {
    GATEWAY_REPLAY_WINDOW: `${WINDOW_MS}ms`,
    GITLAB_WEBHOOK_SIGNING_TOKEN: SIGNING_TOKEN,
  });
});

async function queuedJobIds(): Promise<string[]> {
  return (await system.queue.getJobs(['waiting'])).map((job) => job.id ?? '').sort();
}

function githubBody(jobId: number): string {
  const [example] = workflowJobExamples();
  return JSON.stringify({ ...example, workflow_job: { ...example?.workflow_job, id: jobId } });
}

function gitlabHeaders(body: string, extra: Record<string, string> = {}, at = new Date()) {
  const id = `msg_${randomUUID()}`;
  const seconds = Math.floor(at.getTime() / 1000);
  return {
    'content-type': 'application/json',
    'x-gitlab-event': 'Job Hook',
    'x-gitlab-token': GITLAB_WEBHOOK_TOKEN,
    'webhook-id': id,
    'webhook-timestamp': String(seconds),
    'webhook-signature': standardSignature(id, seconds, body),
    ...extra,
  };
}

const postGitLab = (headers: Record<string, string>, body: string) =>
  fetch(`${gateway.url}/webhooks/gitlab`, { method: 'POST', headers, body });

describe('replayed GitHub deliveries', () => {
  it('queues a signed body once within GATEWAY_REPLAY_WINDOW, whatever X-GitHub-Delivery says, and answers each copy 202', async () => {
    await system.queue.obliterate({ force: true });
    const body = githubBody(7_100_001);
    const original = randomUUID();
    const first = await sendGitHub(gateway.url, null, { body, delivery: original });
    expect(first.status).toBe(202);
    expect(await first.json()).toEqual({ result: 'enqueued' });

    const replays = await Promise.all(
      Array.from({ length: 50 }, () => sendGitHub(gateway.url, null, { body, delivery: randomUUID() })),
    );
    expect(replays.map((response) => response.status)).toEqual(Array(50).fill(202));
    expect(new Set(await Promise.all(replays.map((response) => response.text())))).toEqual(
      new Set(['{"result":"duplicate"}']),
    );
    // GitHub's own redelivery keeps the delivery id: answered as before.
    expect(await (await sendGitHub(gateway.url, null, { body, delivery: original })).json()).toEqual({
      result: 'duplicate',
    });
    expect(await queuedJobIds()).toEqual([`github-${original}`]);

    // Another event of the same job is another body.
    const next = await sendGitHub(gateway.url, null, { body: githubBody(7_100_002) });
    expect(await next.json()).toEqual({ result: 'enqueued' });
  });

  it('queues the same body again once the window has passed (the worker is idempotent)', async () => {
    await system.queue.obliterate({ force: true });
    const body = githubBody(7_100_003);
    expect(await (await sendGitHub(gateway.url, null, { body })).json()).toEqual({ result: 'enqueued' });
    await sleep(WINDOW_MS + 200);
    expect(await (await sendGitHub(gateway.url, null, { body })).json()).toEqual({ result: 'enqueued' });
    expect(await queuedJobIds()).toHaveLength(2);
  });
});

describe('GitLab with GITLAB_WEBHOOK_SIGNING_TOKEN', () => {
  it('refuses 401 a request with the right X-Gitlab-Token but without the signature headers', async () => {
    await system.queue.obliterate({ force: true });
    const body = JSON.stringify(gitlabJobHook({ build_id: 7_200_001 }));
    const {
      'webhook-id': _,
      'webhook-timestamp': __,
      'webhook-signature': ___,
      ...unsigned
    } = gitlabHeaders(body);
    const response = await postGitLab({ ...unsigned, 'x-gitlab-event-uuid': randomUUID() }, body);
    expect(response.status).toBe(401);
    expect(((await response.json()) as { error: string }).error).toMatch(/must be signed/);
    // Nor does any one of the three headers left out pass.
    for (const left of ['webhook-id', 'webhook-timestamp', 'webhook-signature']) {
      const headers: Record<string, string> = gitlabHeaders(body);
      delete headers[left];
      expect((await postGitLab(headers, body)).status, left).toBe(401);
    }
    expect(await queuedJobIds()).toEqual([]);
  });

  it('refuses a signed request whose timestamp is older than 5 minutes', async () => {
    const body = JSON.stringify(gitlabJobHook({ build_id: 7_200_002 }));
    const old = gitlabHeaders(body, {}, new Date(Date.now() - 10 * 60_000));
    const response = await postGitLab(old, body);
    expect(response.status).toBe(401);
    expect(((await response.json()) as { error: string }).error).toMatch(/timestamp too old/);
  });

  it('queues a signed request once per signed webhook-id, whatever the unsigned ids say', async () => {
    await system.queue.obliterate({ force: true });
    const body = JSON.stringify(gitlabJobHook({ build_id: 7_200_003 }));
    const headers = gitlabHeaders(body);
    const answers = [];
    for (let i = 0; i < 5; i += 1) {
      const response = await postGitLab(
        { ...headers, 'idempotency-key': randomUUID(), 'x-gitlab-event-uuid': randomUUID() },
        body,
      );
      expect(response.status).toBe(202);
      answers.push(((await response.json()) as { result: string }).result);
    }
    expect(answers).toEqual(['enqueued', 'duplicate', 'duplicate', 'duplicate', 'duplicate']);
    expect(await queuedJobIds()).toEqual([`gitlab-${headers['webhook-id']}`]);
  });
});
