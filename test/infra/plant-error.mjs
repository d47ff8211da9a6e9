// Preloaded into an app by shutdown.test.ts (NODE_OPTIONS=--import=…): on SIGUSR2, which the
// apps leave alone, it throws an error nobody catches, as a bug in a callback would.
process.on('SIGUSR2', () => {
  setImmediate(() => {
    throw new Error('planted exception');
  });
});
