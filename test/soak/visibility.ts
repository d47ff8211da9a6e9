import { nowMs, sleep } from '@runner-planner/bench-kit';
import type { TestSql } from '@runner-planner/database/testing';
import type { BenchEvent } from '../bench/payloads.js';

/** Has the row the effect of this event? `queued`: it exists; the others: their timestamp is set. */
const ROWS_SQL = `
  SELECT id, started_at IS NOT NULL AS started, completed_at IS NOT NULL AS completed
  FROM job WHERE platform = 'github' AND id = ANY($1::text[])`;

interface Row {
  id: string;
  started: boolean;
  completed: boolean;
}

function hasEffect(event: BenchEvent, row: Row | undefined): boolean {
  if (row === undefined) return false;
  if (event.action === 'in_progress') return row.started;
  if (event.action === 'completed') return row.completed;
  return true;
}

/**
 * How many of the oldest unseen events one poll asks about. The worker takes events in queue
 * order, so newer ones rarely become visible first, and the bound keeps a poll cheap while a
 * backlog builds up.
 */
const WINDOW = 256;

export interface VisibilityOptions {
  client: TestSql;
  events: readonly BenchEvent[];
  pollMs: number;
  /** An event's effect became visible `latencyMs` after its 202. */
  onVisible: (index: number, latencyMs: number) => void;
}

/**
 * Measures 202 → row visible in PostgreSQL by polling the job table for the accepted events
 * not seen yet (the oldest `WINDOW`), one query per round. A latency counts from the 202 to the
 * answer of the poll that saw the effect, so it errs late by at most one round. An event first
 * asked about long after its 202 (it waited outside the window) and already visible then has
 * no trustworthy time: it is counted as `unmeasured` instead.
 */
export class VisibilityWatcher {
  private readonly pending = new Map<number, { ackAt: number; missed: boolean }>();
  private running = true;
  private readonly loop: Promise<void>;
  private failure: unknown;
  unmeasured = 0;
  polls = 0;

  constructor(private readonly options: VisibilityOptions) {
    // Kept until `finish`, which reports it: a failed poll must not pass for "nothing visible".
    this.loop = this.poll().catch((error: unknown) => {
      this.failure = error ?? new Error('the visibility poll failed');
    });
  }

  /** An event the gateway accepted at `ackAt` (on the `nowMs` clock). */
  add(index: number, ackAt: number): void {
    this.pending.set(index, { ackAt, missed: false });
  }

  get waiting(): number {
    return this.pending.size;
  }

  /** Waits until every added event was seen, or `timeoutMs`; then stops polling. */
  async finish(timeoutMs: number): Promise<void> {
    const deadline = nowMs() + timeoutMs;
    while (this.pending.size > 0 && nowMs() < deadline && this.failure === undefined) await sleep(50);
    this.running = false;
    await this.loop;
    if (this.failure !== undefined) throw this.failure;
  }

  private async poll(): Promise<void> {
    const { client, events, pollMs, onVisible } = this.options;
    while (this.running) {
      const roundStart = nowMs();
      const indexes: number[] = [];
      // Maps iterate in insertion order: the order the answers came, about the send order.
      for (const index of this.pending.keys()) {
        if (indexes.length === WINDOW) break;
        indexes.push(index);
      }
      if (indexes.length > 0) {
        const ids = [...new Set(indexes.map((index) => String(events[index]?.jobId)))];
        const { rows } = await client.query<Row>(ROWS_SQL, [ids]);
        this.polls++;
        const answeredAt = nowMs();
        const byId = new Map(rows.map((row) => [row.id, row]));
        for (const index of indexes) {
          const event = events[index];
          const entry = this.pending.get(index);
          if (event === undefined || entry === undefined) continue;
          if (!hasEffect(event, byId.get(String(event.jobId)))) {
            entry.missed = true;
            continue;
          }
          this.pending.delete(index);
          if (!entry.missed && roundStart - entry.ackAt > 3 * pollMs + 50) this.unmeasured++;
          else onVisible(index, answeredAt - entry.ackAt);
        }
      }
      await sleep(Math.max(0, roundStart + pollMs - nowMs()));
    }
  }
}
