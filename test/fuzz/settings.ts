/**
 * How many generated cases each fuzz test runs. CI keeps the default short; `pnpm test:fuzz`
 * sets FUZZ_RUNS=10000 for the full run the reliability figures come from.
 */
export const FUZZ_RUNS = positiveIntFromEnv('FUZZ_RUNS', 1_000);

/** Set FUZZ_SEED to replay the exact sequence a failing run printed. */
export const FUZZ_SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);

/**
 * Largest RSS growth accepted between the sample taken after warm-up and the one at the end.
 * V8 grows its heap in steps and keeps freed pages for a while, so a few tens of MiB of slack
 * are normal; a leak of even 2 KiB per request shows up well above it over 10,000 requests.
 */
export const RSS_TOLERANCE_BYTES = 24 * 1024 * 1024;

function positiveIntFromEnv(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value <= 0)
    throw new Error(`${name} must be a positive integer, got ${text}`);
  return value;
}
