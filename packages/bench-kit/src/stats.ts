/** The q-quantile (0..1) of `values`, interpolating linearly between order statistics. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const position = (sorted.length - 1) * q;
  const below = Math.floor(position);
  const above = Math.ceil(position);
  const low = sorted[below] ?? Number.NaN;
  const high = sorted[above] ?? Number.NaN;
  return low + (high - low) * (position - below);
}

export interface Latency {
  samples: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export function latency(samples: readonly number[]): Latency {
  return {
    samples: samples.length,
    p50Ms: quantile(samples, 0.5),
    p99Ms: quantile(samples, 0.99),
    maxMs: samples.length === 0 ? Number.NaN : samples.reduce((max, n) => Math.max(max, n), -Infinity),
  };
}

/**
 * Round r runs the contenders forward when r is even, backward when odd (A B, B A, A B, ...), so
 * neither side always runs on a machine the other has just warmed up (or worn out).
 */
export function roundOrder<T>(items: readonly T[], round: number): T[] {
  return round % 2 === 0 ? [...items] : [...items].reverse();
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Milliseconds on a clock every process of the machine shares (wall clock, sub-millisecond). */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}
