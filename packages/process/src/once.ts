import { errorText, type Log } from './log.js';

/** Problems remembered at once; the oldest is forgotten first (it is then told again if it recurs). */
const REMEMBERED = 1_000;
const QUIET_MS = 5 * 60_000;

export interface OnceOptions {
  level?: 'warn' | 'error';
  /** A problem seen again after this long is told again, with how often it came back meanwhile (default 5 minutes). */
  quietMs?: number;
  now?: () => number;
}

export interface Once {
  /** Logs `message` unless `key` was told within the quiet time; then only counts it. */
  tell(key: string, details: object, message: string): void;
  /** Forgets every problem (the thing recovered); whether any had been told. */
  reset(): boolean;
}

/**
 * Tells each distinct problem once rather than every time it recurs: ioredis reports every
 * reconnect attempt of an outage, a database outage fails every job. The log shows the cause,
 * and a later line how often it came back, instead of a flood that hides everything else.
 */
export function once(log: Log, options: OnceOptions = {}): Once {
  const level = options.level ?? 'warn';
  const quietMs = options.quietMs ?? QUIET_MS;
  const now = options.now ?? Date.now;
  const told = new Map<string, { at: number; repeats: number }>();
  return {
    tell(key, details, message) {
      const at = now();
      const last = told.get(key);
      if (last !== undefined && at - last.at < quietMs) {
        last.repeats += 1;
        return;
      }
      told.delete(key);
      told.set(key, { at, repeats: 0 });
      if (told.size > REMEMBERED) told.delete(told.keys().next().value as string);
      const repeats = last?.repeats ?? 0;
      log[level](
        repeats > 0 ? { ...details, repeatsSinceLastLogged: repeats } : details,
        repeats > 0 ? `${message} (again ${repeats} times since it was last logged)` : message,
      );
    },
    reset() {
      const any = told.size > 0;
      told.clear();
      return any;
    },
  };
}

/** Anything with `error` events: an ioredis client, a BullMQ Queue or Worker, a pg Client. */
export interface ErrorEmitter {
  on(event: 'error', listener: (error: Error) => void): unknown;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
}

export interface LogErrorsOptions extends OnceOptions {
  /** The event that says the emitter works again (ioredis and BullMQ workers: `ready`). */
  recoveredOn?: string;
}

/**
 * Listens to the emitters' errors, which would otherwise crash the process, and logs each
 * distinct one once as `what: <error>`, with `context` (which connection, queue, URL without
 * password). After a `recoveredOn` event, says it recovered, and the next error is told at once.
 */
export function logErrors(
  emitters: ErrorEmitter | readonly ErrorEmitter[],
  log: Log,
  what: string,
  context: object = {},
  options: LogErrorsOptions = {},
): void {
  // One memory for all: a BullMQ queue repeats the errors of the connection it shares.
  const problems = once(log, options);
  const recovered = options.recoveredOn;
  for (const emitter of Array.isArray(emitters) ? emitters : [emitters as ErrorEmitter]) {
    emitter.on('error', (error: Error) => {
      const text = errorText(error);
      problems.tell(text, { ...context, error: text }, `${what}: ${text}`);
    });
    if (recovered !== undefined) {
      emitter.on(recovered, () => {
        if (problems.reset()) log.info(context, `${what}: works again`);
      });
    }
  }
}
