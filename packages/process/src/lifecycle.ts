import type { Server } from 'node:net';
import closeWithGrace from 'close-with-grace';
import { errorText, type Log } from './log.js';

/** Something a process closes on its way out. */
export interface Part {
  name: string;
  close(): Promise<void>;
  /** What still holds it open ("2 HTTP connections"), for the line logged when shutdown is cut short. */
  pending?(): string | undefined;
  /** What the log says once it has closed (default `<name> stopped`). */
  stopped?: string;
}

export interface ShutdownOptions {
  log: Log;
  /**
   * Closed in this order, each once the one before has closed (or failed to). Walked as the
   * process closes, so a caller may install the handlers first and add parts as they start.
   */
  parts: readonly Part[];
  /** How long closing may take in all (SHUTDOWN_TIMEOUT); the process exits 1 after it. */
  timeoutMs: number;
}

export interface Shutdown {
  /** Closes as a signal would (exit 0, or 1 when a part fails or the deadline passes). */
  close(): void;
  /** Removes the process listeners (tests). */
  uninstall(): void;
}

/**
 * Not handled: after a real SIGSEGV, SIGBUS, SIGFPE or SIGILL Node cannot safely run JavaScript;
 * SIGQUIT, SIGABRT and SIGTRAP ask for a core dump or a debugger; SIGUSR2 is left to tools.
 */
const UNHANDLED = [
  'SIGILL',
  'SIGTRAP',
  'SIGABRT',
  'SIGBUS',
  'SIGFPE',
  'SIGSEGV',
  'SIGQUIT',
  'SIGUSR2',
] as const;

class ShutdownFailed extends Error {}

const seconds = (ms: number) => `${Number((ms / 1000).toFixed(3))} s`;

/**
 * The one way every app and `runner-planner start` end (close-with-grace underneath): on
 * SIGTERM, SIGINT or SIGHUP, an uncaught exception or an unhandled rejection, closes `parts` in
 * order and exits 0, or 1 when the cause was an error or a part failed to close. A second signal
 * or error exits 1 at once; so does the deadline. Either way the log says what was still open.
 */
export function closeOnExit(options: ShutdownOptions): Shutdown {
  const { log, parts } = options;
  const closed = new Set<Part>();
  const stillOpen = () =>
    parts
      .filter((part) => !closed.has(part))
      .map((part) => {
        const pending = part.pending?.();
        return pending === undefined ? part.name : `${part.name} (${pending})`;
      });
  const listed = () => stillOpen().join(', ') || 'nothing';

  return closeWithGrace(
    {
      delay: options.timeoutMs,
      logger: false,
      skip: [...UNHANDLED],
      onTimeout: (delay) =>
        log.error(
          { timeoutMs: delay, open: stillOpen() },
          `shutdown did not finish within ${seconds(delay)} (SHUTDOWN_TIMEOUT): exiting with ${listed()} still open`,
        ),
      onSecondSignal: (signal) =>
        log.error({ signal, open: stillOpen() }, `${signal} again: exiting without waiting for ${listed()}`),
      onSecondError: (error) =>
        log.error(
          { err: error, open: stillOpen() },
          `another uncaught error while closing, exiting without waiting for ${listed()}: ${errorText(error)}`,
        ),
    },
    async ({ signal, err }) => {
      if (err !== undefined) log.error({ err }, `uncaught error, shutting down: ${errorText(err)}`);
      else log.info({ signal }, `${signal ?? 'exit'}: shutting down`);
      let failed = false;
      for (const part of parts) {
        try {
          await part.close();
          log.info({ part: part.name }, part.stopped ?? `${part.name} stopped`);
        } catch (error) {
          failed = true;
          log.error({ part: part.name, err: error }, `stopping ${part.name} failed: ${errorText(error)}`);
        }
        closed.add(part);
      }
      // Logged above; close-with-grace exits 1 on a rejection (its own logger is off).
      if (failed) throw new ShutdownFailed();
    },
  );
}

/**
 * How many connections `server` holds, counted as they open and close (the count must be known
 * synchronously when the deadline passes). Connections accepted before the call are not counted.
 */
export function countConnections(server: Server): () => number {
  let count = 0;
  server.on('connection', (socket) => {
    count += 1;
    socket.once('close', () => {
      count -= 1;
    });
  });
  return () => count;
}

/** `pending` of an HTTP server's part: its open connections, if any. */
export function openConnections(server: Server): () => string | undefined {
  const count = countConnections(server);
  return () => {
    const n = count();
    if (n === 0) return undefined;
    return n === 1 ? '1 HTTP connection' : `${n} HTTP connections`;
  };
}
