/**
 * How many generated cases each fuzz test runs. CI keeps the default short; `pnpm test:fuzz`
 * sets FUZZ_RUNS=10000 for the full run the reliability figures come from.
 */
export const FUZZ_RUNS = positiveIntFromEnv('FUZZ_RUNS', 1_000);

/** Set FUZZ_SEED to replay the exact sequence a failing run printed. */
export const FUZZ_SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);

/**
 * Largest growth accepted between the memory sampled after warm-up and at the end, both taken
 * right after a forced full garbage collection. RSS keeps some slack for V8 and the allocator
 * keeping freed pages; the live heap must stay within a few MiB. A leak of 1 KiB per request
 * would add about 10 MiB of live heap over 10,000 requests.
 */
export const RSS_TOLERANCE_BYTES = 24 * 1024 * 1024;
export const HEAP_TOLERANCE_BYTES = 6 * 1024 * 1024;

function positiveIntFromEnv(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value <= 0)
    throw new Error(`${name} must be a positive integer, got ${text}`);
  return value;
}
