import { randomUUID } from 'node:crypto';
import { nowMs, sleep } from '@runner-planner/bench-kit';
import { type PacedOutcome, sendPaced } from '../bench/pacer.js';
import { type BenchEvent, sign, webhookBody } from '../bench/payloads.js';

export interface SteadyLoadOptions {
  /** `http://127.0.0.1:port/webhooks/github` */
  url: string;
  events: readonly BenchEvent[];
  perSecond: number;
  /** Events per `sendPaced` call: each call's answers are released when it ends. */
  chunk: number;
  /** Payload timestamps count from here (epoch ms). */
  epochMs: number;
  onAnswer: (index: number, outcome: PacedOutcome) => void;
}

/**
 * Sends `events` open loop at `perSecond` for as long as they last. The run is cut into chunks
 * that overlap (a chunk starts when it is due, whatever the answers of the one before), so a
 * slow answer delays nothing and memory stays bounded however long the run is; bodies are
 * built and signed just before they are sent.
 */
export async function sendSteadily(options: SteadyLoadOptions): Promise<void> {
  const { events, perSecond, chunk } = options;
  const start = nowMs();
  // Each kept promise resolves to nothing, so a finished chunk's outcomes can be collected.
  const chunks: Promise<void>[] = [];
  for (let first = 0; first < events.length; first += chunk) {
    await sleep(Math.max(0, start + (first / perSecond) * 1000 - nowMs()));
    const offset = first;
    chunks.push(
      sendPaced({
        url: options.url,
        count: Math.min(chunk, events.length - first),
        perSecond,
        request: (index) => {
          const event = events[offset + index];
          if (event === undefined) throw new Error(`no event ${offset + index}`);
          const body = webhookBody(event, options.epochMs);
          return { body, signature: sign(body), delivery: randomUUID() };
        },
        onAnswer: (index, outcome) => options.onAnswer(offset + index, outcome),
      }).then(() => {}),
    );
  }
  await Promise.all(chunks);
}
