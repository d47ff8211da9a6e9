/** Messages between the harness and the stream client (stream-client.ts), over the IPC channel. */

export type ToStreamClient =
  | {
      type: 'open';
      port: number;
      token: string;
      /** One path per stream, e.g. `/api/v1/flavors/_/pressure?stream=true`. */
      paths: string[];
      /** Streams waiting for their first line at any time. */
      concurrency: number;
    }
  /** Change `index` (1, 2, …) was committed at `committedAt` (write started at `startedAt`), ms on the shared clock. */
  | { type: 'change'; index: number; startedAt: number; committedAt: number; timeoutMs: number }
  | { type: 'close' };

export type FromStreamClient =
  | {
      type: 'opened';
      open: number;
      failed: number;
      /** First few failures, for the report. */
      failures: string[];
      seconds: number;
      /** Per open stream: request sent → first line, ms. */
      firstLineMs: number[];
    }
  | {
      type: 'changed';
      index: number;
      /** Per stream that got the line: commit → line received, ms. */
      fromCommitMs: number[];
      /** The same from the start of the write (an upper bound that cannot be negative). */
      fromStartMs: number[];
      /** Open streams without the line when the wait ended. */
      missing: number;
      /** Streams that got more than one line for this change (should be 0). */
      extraLines: number;
      /** Lines equal to the stream's previous line (should be 0: a change always moves the value). */
      unchangedLines: number;
      /** Streams that ended or failed since opening. */
      closed: number;
    }
  | { type: 'closed' };
