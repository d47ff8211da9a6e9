import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { sendGitHub } from '../support/webhooks.js';

/**
 * Sends a GitHub webhook until it is answered 202, under one delivery id, as a forge redelivers
 * after a 5xx or a refused connection; resolves with how many times it was refused first.
 */
export async function deliverUntilAccepted(
  gatewayUrl: string,
  payload: Record<string, unknown>,
  timeoutMs = 60_000,
): Promise<number> {
  const delivery = randomUUID();
  let refusals = 0;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await sendGitHub(gatewayUrl, payload, { delivery }).then(
      (response) => response.status,
      () => 0,
    );
    if (status === 202) return refusals;
    if (Date.now() > deadline) throw new Error(`still ${status} after ${timeoutMs / 1000} s`);
    refusals += 1;
    await sleep(200);
  }
}
