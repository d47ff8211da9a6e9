import { Agent, request } from 'node:http';
import { nowMs, sleep } from '@runner-planner/bench-kit';

export interface PacedRequest {
  body: string;
  signature: string;
  delivery: string;
}

/** One request's times on the shared clock (`nowMs`), and its status (0: no answer). */
export interface PacedOutcome {
  scheduledAt: number;
  sentAt: number;
  answeredAt: number;
  status: number;
}

export interface PacedOptions {
  /** `http://127.0.0.1:port/path` */
  url: string;
  count: number;
  perSecond: number;
  request: (index: number) => PacedRequest;
  /** Called as each answer arrives. */
  onAnswer?: (index: number, outcome: PacedOutcome) => void;
  /** Called once, just before the first request. */
  onStart?: () => void;
}

/**
 * An open-loop sender like a forge: request i is due at start + i/perSecond whatever the
 * answers so far, over keep-alive connections (a new one whenever all are busy). A request the
 * sender could not send on time still counts from when it was due, so a slow server cannot hide
 * its queueing (no coordinated omission).
 */
export async function sendPaced(options: PacedOptions): Promise<PacedOutcome[]> {
  const target = new URL(options.url);
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const outcomes: PacedOutcome[] = new Array(options.count);
  const answers: Promise<void>[] = [];
  const intervalMs = 1000 / options.perSecond;

  const fire = (index: number, scheduledAt: number) =>
    new Promise<void>((resolve) => {
      const { body, signature, delivery } = options.request(index);
      const outcome: PacedOutcome = { scheduledAt, sentAt: nowMs(), answeredAt: Number.NaN, status: 0 };
      outcomes[index] = outcome;
      const finish = () => {
        outcome.answeredAt = nowMs();
        options.onAnswer?.(index, outcome);
        resolve();
      };
      const outgoing = request(
        {
          agent,
          host: target.hostname,
          port: target.port,
          path: target.pathname,
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            'user-agent': 'GitHub-Hookshot/bench',
            'x-github-event': 'workflow_job',
            'x-github-delivery': delivery,
            'x-hub-signature-256': signature,
          },
        },
        (response) => {
          outcome.status = response.statusCode ?? 0;
          response.resume();
          response.on('end', finish);
          response.on('error', finish);
        },
      );
      outgoing.on('error', finish);
      outgoing.end(body);
    });

  options.onStart?.();
  const start = nowMs();
  for (let index = 0; index < options.count; ) {
    const now = nowMs();
    // Send everything that is due; timers fire late by a millisecond or so.
    while (index < options.count && start + index * intervalMs <= now) {
      answers.push(fire(index, start + index * intervalMs));
      index++;
    }
    if (index < options.count) await sleep(Math.max(0, start + index * intervalMs - nowMs()));
  }
  await Promise.all(answers);
  agent.destroy();
  return outcomes;
}
