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

export interface LatencySummary {
  samples: number;
  medianMs: number;
  p99Ms: number;
}

export function summarize(samples: readonly number[]): LatencySummary {
  return { samples: samples.length, medianMs: quantile(samples, 0.5), p99Ms: quantile(samples, 0.99) };
}

/** Round r runs the contenders forward when r is even, backward when odd (A B, B A, A B, ...). */
export function roundOrder<T>(items: readonly T[], round: number): T[] {
  return round % 2 === 0 ? [...items] : [...items].reverse();
}
