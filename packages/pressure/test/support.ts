import type { Flavor, NewJob } from '@runner-planner/database';

/** Consumes an iterator in the background, so a test can look at what it yielded so far. */
export interface Recording<T> {
  values: T[];
  /** Settles when the iteration ends: resolves on a normal end, rejects with what it threw. */
  ended: Promise<void>;
  isEnded(): boolean;
}

export function record<T>(iterable: AsyncIterable<T>): Recording<T> {
  const values: T[] = [];
  let finished = false;
  const ended = (async () => {
    try {
      for await (const value of iterable) values.push(value);
    } finally {
      finished = true;
    }
  })();
  ended.catch(() => {});
  return { values, ended, isEnded: () => finished };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves with what `promise` gives, or with 'timeout' after `ms`. */
export function within<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

export function flavor(name: string, overrides: Partial<Flavor> = {}): Flavor {
  return {
    platform: 'github',
    name,
    labels: [name],
    priority: 0,
    isDisabled: false,
    minimumPressure: 0,
    ...overrides,
  };
}

export function job(id: string, labels: string[], overrides: Partial<NewJob> = {}): NewJob {
  return {
    platform: 'github',
    id,
    labels,
    createdAt: new Date(),
    startedAt: null,
    completedAt: null,
    raw: {},
    ...overrides,
  };
}
