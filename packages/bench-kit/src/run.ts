/** Progress lines on stderr with the seconds since `started`: stdout stays for the result tables. */
export function progressLog(started = Date.now()): (message: string) => void {
  return (message) =>
    console.error(`[bench ${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s] ${message}`);
}

/**
 * Sets the exit code from a run that says whether every goal passed. Goals are reported, not
 * enforced, unless BENCH_STRICT=1: a busy machine should not turn a measurement into a failure.
 */
export function exitWhenDone(run: Promise<boolean>): Promise<void> {
  return run.then(
    (passed) => {
      if (!passed && process.env.BENCH_STRICT === '1') process.exitCode = 1;
    },
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
