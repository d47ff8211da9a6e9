import { sign } from './payloads.js';

/**
 * Each benchmark request carries its own body: the gateway enqueues a signed body once per replay
 * window (a replay with a new delivery id is answered without a queue job), so a benchmark that
 * resent one body would measure the replay check instead of the enqueue. The n-th variant swaps
 * `marker`, a 10-digit number in the template (the job id), for another 10-digit number: same
 * length (for n below 5,900,000,000), its own signature.
 */
export function uniqueBody(template: string, marker: string, n: number): { body: string; signature: string } {
  const body = template.replaceAll(marker, String(Number(marker) + n));
  return { body, signature: sign(body) };
}
