import { setTimeout as sleep } from 'node:timers/promises';
import pRetry from 'p-retry';
import { sendGitHub, sendGitLab } from '../../support/webhooks.js';
import type { StreamEvent } from './truth.js';

export interface SenderOptions {
  /** Events per second, each started on schedule whatever the earlier ones are doing (open loop). */
  rate: number;
  /** Gateway base URL for an attempt; attempts count from 1. */
  target(event: StreamEvent, attempt: number): string;
  /** A forge gives up at some point too; far longer than any fault injected here. */
  giveUpAfterMs?: number;
  /** Open requests at most, so a dead gateway cannot make the sender pile up sockets. */
  maxInFlight?: number;
}

export interface SendFigures {
  /** Distinct events (deliveries) sent. */
  events: number;
  /** HTTP requests, retries included. */
  attempts: number;
  /** Events that got a 2xx in the end. */
  accepted: number;
  /** Events the sender gave up on. */
  notAccepted: number;
  /** Events that needed more than one attempt. */
  retried: number;
  /** Attempt outcomes: HTTP status, or `connection` for a refused or reset connection. */
  outcomes: Record<string, number>;
  streamSeconds: number;
}

/** Sends a stream like a forge: at a steady rate, redelivering a failed event with the same delivery id. */
export class StreamSender {
  readonly accepted = new Set<StreamEvent>();
  private dispatched = 0;
  private total = 0;

  constructor(private readonly options: SenderOptions) {}

  /** Share of the stream started so far, 0..1. */
  progress(): number {
    return this.total === 0 ? 0 : this.dispatched / this.total;
  }

  async send(events: readonly StreamEvent[]): Promise<SendFigures> {
    const { rate, giveUpAfterMs = 300_000, maxInFlight = 256 } = this.options;
    this.total = events.length;
    const outcomes: Record<string, number> = {};
    const count = (outcome: string) => {
      outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
    };
    let attempts = 0;
    let retried = 0;
    const inFlight = new Set<Promise<void>>();
    const started = performance.now();

    const deliver = async (event: StreamEvent) => {
      try {
        await pRetry(
          async (attempt) => {
            attempts += 1;
            if (attempt === 2) retried += 1;
            const status = await this.attempt(event, attempt).catch((error: unknown) => {
              count('connection');
              throw error;
            });
            count(String(status));
            if (status < 200 || status > 299) throw new Error(`gateway answered ${status}`);
          },
          {
            // Bounded by maxRetryTime; `retry` precomputes one timeout per retry, so no huge number.
            retries: 1_000,
            minTimeout: 100,
            maxTimeout: 2_000,
            factor: 2,
            randomize: true,
            maxRetryTime: giveUpAfterMs,
          },
        );
        this.accepted.add(event);
      } catch {
        // Counted as not accepted below; the scenario fails on it.
      }
    };

    for (const [index, event] of events.entries()) {
      const due = started + (index * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      while (inFlight.size >= maxInFlight) await Promise.race(inFlight);
      const sending = deliver(event).finally(() => inFlight.delete(sending));
      inFlight.add(sending);
      this.dispatched = index + 1;
    }
    await Promise.all(inFlight);

    return {
      events: events.length,
      attempts,
      accepted: this.accepted.size,
      notAccepted: events.length - this.accepted.size,
      retried,
      outcomes,
      streamSeconds: (performance.now() - started) / 1000,
    };
  }

  /** One HTTP attempt: the status, or a ConnectionError when there is no answer. */
  private async attempt(event: StreamEvent, attempt: number): Promise<number> {
    const url = this.options.target(event, attempt);
    try {
      const response =
        event.job.platform === 'github'
          ? await sendGitHub(url, null, { delivery: event.deliveryId, body: event.body })
          : await sendGitLab(url, JSON.parse(event.body), { delivery: event.deliveryId });
      // The body is not needed, but reading it frees the connection for the next request.
      await response.arrayBuffer();
      return response.status;
    } catch (error) {
      throw new ConnectionError(error);
    }
  }
}

/** No HTTP answer at all (refused, reset): retried like a non-2xx. */
class ConnectionError extends Error {
  override readonly name = 'ConnectionError';
  constructor(cause: unknown) {
    super(`no answer from the gateway: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}
