import { nowMs, sleep } from '@runner-planner/bench-kit';
import type { PlannerClient, PressureSnapshot } from '@runner-planner/pressure';

/** One open `?stream=true` pressure stream and what it delivered. */
export interface StreamState {
  flavor: string;
  updates: number;
  reconnects: number;
  last?: PressureSnapshot;
  /** Why it ended early (an error status); undefined while it runs or after a clean stop. */
  error?: string;
}

/**
 * Pressure streams held open through the planner, the way autoscalers hold them: one for every
 * flavor (`_`) and one per named flavor, each followed across reconnections.
 */
export class PressureStreams {
  readonly states: StreamState[];
  private readonly controller = new AbortController();
  private readonly loops: Promise<void>[];

  constructor(client: PlannerClient, flavors: readonly string[]) {
    this.states = flavors.map((flavor) => ({ flavor, updates: 0, reconnects: 0 }));
    this.loops = this.states.map((state) => this.follow(client, state));
  }

  /** Updates received by all streams so far (the current snapshot at connection included). */
  get updates(): number {
    return this.states.reduce((sum, state) => sum + state.updates, 0);
  }

  get reconnects(): number {
    return this.states.reduce((sum, state) => sum + state.reconnects, 0);
  }

  /**
   * Waits until every stream's last snapshot shows `expected` for each of its flavors; false
   * when one still differs after `timeoutMs`.
   */
  async converged(expected: PressureSnapshot, timeoutMs: number): Promise<boolean> {
    const deadline = nowMs() + timeoutMs;
    const agrees = (state: StreamState) =>
      state.last !== undefined &&
      Object.entries(state.last).every(([flavor, value]) => expected[flavor] === value);
    while (!this.states.every(agrees)) {
      if (nowMs() > deadline) return false;
      await sleep(50);
    }
    return true;
  }

  async close(): Promise<void> {
    this.controller.abort();
    await Promise.all(this.loops);
  }

  private async follow(client: PlannerClient, state: StreamState): Promise<void> {
    try {
      const stream = client.streamPressure(state.flavor, {
        signal: this.controller.signal,
        onReconnect: () => {
          state.reconnects++;
        },
      });
      for await (const snapshot of stream) {
        state.updates++;
        state.last = snapshot;
      }
    } catch (error) {
      state.error = error instanceof Error ? error.message : String(error);
    }
  }
}
