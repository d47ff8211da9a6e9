import { setTimeout as sleep } from 'node:timers/promises';
import { PRESSURE_CHANNEL } from './pressure-channel.js';

/**
 * `pressure_change` in a transaction of its own that does not wait for its commit to be flushed.
 * Notifying takes a cluster-wide lock held until the commit is flushed (async.c,
 * PreCommit_Notify); a job write that notified itself would make every other one wait for its
 * flush. A notification lost in a crash is harmless: listeners re-read when they reconnect.
 */
export const SIGNAL_PRESSURE = {
  name: 'runner_planner_signal_pressure',
  text: `SELECT set_config('synchronous_commit', 'off', true), pg_notify('${PRESSURE_CHANNEL}', '')`,
};

/** Least time between two signals of one process: planners read at most every 50 ms anyway. */
const SIGNAL_GAP_MS = 5;

/**
 * Tells listening planners that pressure may have moved, once the write that moved it has
 * committed. Writes that commit while a signal is on its way share the next one: one process
 * sends at most one signal at a time and one per `SIGNAL_GAP_MS`, however many jobs it writes.
 */
export class PressureSignal {
  private sending: Promise<void> | null = null;
  private again = false;

  constructor(
    private readonly send: () => Promise<unknown>,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** A write that may move pressure has committed. */
  raise(): void {
    if (this.sending !== null) {
      this.again = true;
      return;
    }
    this.sending = this.run();
  }

  /** Resolves once every raised signal has been sent (or has failed). */
  async settled(): Promise<void> {
    await this.sending;
  }

  private async run(): Promise<void> {
    do {
      this.again = false;
      try {
        await this.send();
      } catch (error) {
        this.onError(error);
      }
      if (this.again) await sleep(SIGNAL_GAP_MS);
    } while (this.again);
    this.sending = null;
  }
}
