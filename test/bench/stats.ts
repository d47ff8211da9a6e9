import { quantile } from '../../packages/database/bench/stats.js';

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

/** A deterministic pseudo-random generator (mulberry32), so every run sends the same events. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Milliseconds on a clock every process of the machine shares (wall clock, sub-millisecond). */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}
