/** Settles with `undefined` as soon as the signal aborts, else with the promise's outcome. */
export function unlessAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T | undefined> {
  if (signal.aborted) {
    promise.catch(() => {});
    return Promise.resolve(undefined);
  }
  return new Promise<T | undefined>((resolve, reject) => {
    const onAbort = () => resolve(undefined);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/** Waits `ms`, or less if the signal aborts first (never rejects). */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Aborts `controller` when `signal` does; returns a function that undoes the link. */
export function linkSignal(signal: AbortSignal | undefined, controller: AbortController): () => void {
  if (signal === undefined) return () => {};
  if (signal.aborted) {
    controller.abort(signal.reason);
    return () => {};
  }
  const onAbort = () => controller.abort(signal.reason);
  signal.addEventListener('abort', onAbort, { once: true });
  return () => signal.removeEventListener('abort', onAbort);
}

/**
 * An async iterator that `return()` (or an abort) stops at once, even while the generator
 * behind it is waiting: an async generator would otherwise queue the `return()` until its
 * next `yield`, which for a quiet pressure stream may be never.
 */
export class StoppableIterator<T> implements AsyncIterableIterator<T> {
  private readonly generator: AsyncGenerator<T, void, undefined>;

  constructor(
    produce: (signal: AbortSignal) => AsyncGenerator<T, void, undefined>,
    private readonly controller: AbortController,
    private readonly onStop: () => void = () => {},
  ) {
    this.generator = produce(controller.signal);
  }

  async next(): Promise<IteratorResult<T, undefined>> {
    try {
      const result = await this.generator.next();
      if (!result.done) return result;
      this.onStop();
      return { done: true, value: undefined };
    } catch (error) {
      this.onStop();
      throw error;
    }
  }

  /** Stops the iteration and releases its connection; later `next()` calls report done. */
  async return(): Promise<IteratorResult<T, undefined>> {
    this.controller.abort();
    await this.generator.return(undefined);
    this.onStop();
    return { done: true, value: undefined };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
