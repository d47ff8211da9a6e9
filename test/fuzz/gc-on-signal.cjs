// Test-only preload (NODE_OPTIONS="--expose-gc --require …"): SIGUSR2 runs a full garbage
// collection and prints the heap, so memory samples taken before and after a run compare live
// data rather than garbage V8 has not got round to collecting yet.
process.on('SIGUSR2', () => {
  globalThis.gc();
  process.stdout.write(`gc-on-signal ${JSON.stringify(process.memoryUsage())}\n`);
});
