import { afterAll, describe, expect, it } from 'vitest';
import { type RunningGateway, startGateway } from '../src/index.js';
import { GITHUB_SECRET, githubSignature, QueueInspector, testConfig } from './support.js';

const queue = new QueueInspector();
const prefix = queue.prefix;
let gateway: RunningGateway | undefined;

afterAll(async () => {
  await gateway?.close();
  await queue.cleanup();
});

describe('startGateway', () => {
  it('listens and queues a signed delivery sent over HTTP', async () => {
    gateway = await startGateway(testConfig(prefix, { gatewayPort: 0, gatewayBodyLimitBytes: 1024 }), {
      host: '127.0.0.1',
    });
    const body = JSON.stringify({ action: 'queued', workflow_job: { id: 5 } });
    const response = await fetch(`${gateway.url}/webhooks/github`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'workflow_job',
        'x-github-delivery': 'over-http-1',
        'x-hub-signature-256': githubSignature(GITHUB_SECRET, body),
      },
      body,
    });
    expect(response.status).toBe(202);
    expect(await response.json()).toEqual({ result: 'enqueued' });
    expect((await queue.job('github', 'over-http-1'))?.body).toBe(body);
  });

  it('refuses a streamed body over the limit that has no Content-Length', async () => {
    const running = gateway!;
    const chunk = new TextEncoder().encode('x'.repeat(600));
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(chunk);
        controller.enqueue(chunk);
        controller.close();
      },
    });
    const response = await fetch(`${running.url}/webhooks/github`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'workflow_job',
        'x-hub-signature-256': githubSignature(GITHUB_SECRET, 'x'.repeat(1200)),
      },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(response.status).toBe(413);
  });

  it('closes once, however often close is called', async () => {
    const running = gateway!;
    await Promise.all([running.close(), running.close()]);
    await expect(fetch(`${running.url}/health`)).rejects.toThrow();
  });
});
