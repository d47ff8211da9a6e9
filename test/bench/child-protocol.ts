/**
 * Load generators run as child processes and talk to the runner with JSON lines on stdout:
 * `{"event":"measuring"}` when the measured part starts (after any warm-up), then
 * `{"event":"result","result":…}` last.
 */
export type ChildMessage = { event: 'measuring' } | { event: 'result'; result: unknown };

export function send(message: ChildMessage): void {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

/** The child's input: a JSON document as its only argument. */
export function input<T>(): T {
  const text = process.argv[2];
  if (text === undefined) throw new Error('expected the input as a JSON argument');
  return JSON.parse(text) as T;
}

/** Runs the child's main, reporting a failure on stderr with exit code 1. */
export function runChild(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}

/** Measures this process's own CPU use: `stop()` gives cores used (CPU seconds ÷ wall seconds) since `start`. */
export function selfCpu(): { stop(): number } {
  const wallStart = performance.now();
  const start = process.cpuUsage();
  return {
    stop() {
      const used = process.cpuUsage(start);
      return (used.user + used.system) / 1000 / (performance.now() - wallStart);
    },
  };
}
