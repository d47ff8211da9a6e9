import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const CLOSING = fixture('closing.mjs');
const STARTING = fixture('starting.mjs');

interface Run {
  child: ChildProcess;
  /** stdout (information), then stderr (problems): two pipes, so no order between them. */
  output(): { out: string; err: string };
  /** Resolves once the output contains `text`. */
  printed(text: string): Promise<void>;
}

/** The fixture (it imports the built package: `pnpm build` first), once it says it is ready. */
async function run(env: Record<string, string>, script = CLOSING): Promise<Run> {
  const child = spawn(process.execPath, [script], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let errors = '';
  const printed = (text: string) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!output.includes(text)) return;
        child.stdout.off('data', check);
        resolve();
      };
      child.stdout.on('data', check);
      child.once('exit', (code) => reject(new Error(`exited with ${code} before "${text}":\n${output}`)));
      check();
    });
  child.stdout.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr.on('data', (chunk) => {
    errors += chunk;
  });
  await printed('ready\n');
  return { child, output: () => ({ out: output, err: errors }), printed };
}

/** Sends the signals, then resolves the exit code, the lines printed, and how long the exit took. */
async function end({ child, output }: Run, ...signals: NodeJS.Signals[]) {
  const exited = once(child, 'exit');
  const sent = performance.now();
  for (const signal of signals) child.kill(signal);
  const [code] = (await exited) as [number | null];
  const ms = performance.now() - sent;
  const lines = (text: string) => text.split('\n').filter((line) => line !== '' && line !== 'ready');
  return { code, out: lines(output().out), err: lines(output().err), ms };
}

describe.concurrent('closeOnExit', () => {
  it.each(['SIGTERM', 'SIGINT', 'SIGHUP'] as const)(
    '%s closes the parts in order, then exits 0',
    async (signal) => {
      const result = await end(await run({ PARTS: 'planner,gateway,worker' }), signal);
      expect(result).toMatchObject({ code: 0, err: [] });
      expect(result.out).toEqual([
        `fixture: ${signal}: shutting down`,
        'fixture: planner stopped',
        'fixture: gateway stopped',
        'fixture: worker stopped',
      ]);
    },
  );

  it('a part that fails to close is told, the others are still closed, and the exit is 1', async () => {
    const result = await end(await run({ PARTS: 'planner,gateway,worker', FAIL: 'gateway' }), 'SIGTERM');
    expect(result.code).toBe(1);
    expect(result.out).toEqual([
      'fixture: SIGTERM: shutting down',
      'fixture: planner stopped',
      'fixture: worker stopped',
    ]);
    expect(result.err).toEqual(['fixture: stopping gateway failed: gateway refused to close']);
  });

  it('a part that never closes: exit 1 at the deadline, naming what is still open', async () => {
    const started = await run({ PARTS: 'planner,gateway,worker', HANG: 'gateway', TIMEOUT_MS: '400' });
    const result = await end(started, 'SIGTERM');
    expect(result.code).toBe(1);
    expect(result.ms).toBeGreaterThanOrEqual(380);
    expect(result.ms).toBeLessThan(3_000);
    expect(result.out).toEqual(['fixture: SIGTERM: shutting down', 'fixture: planner stopped']);
    expect(result.err).toEqual([
      'fixture: shutdown did not finish within 0.4 s (SHUTDOWN_TIMEOUT): exiting with gateway (still busy), worker still open',
    ]);
  });

  it('a second signal while closing exits 1 at once', async () => {
    const started = await run({ PARTS: 'gateway', HANG: 'gateway', TIMEOUT_MS: '60000' });
    started.child.kill('SIGTERM');
    await started.printed('shutting down');
    const result = await end(started, 'SIGINT');
    expect(result.code).toBe(1);
    expect(result.ms).toBeLessThan(3_000);
    expect(result.out).toEqual(['fixture: SIGTERM: shutting down']);
    expect(result.err).toEqual(['fixture: SIGINT again: exiting without waiting for gateway (still busy)']);
  });

  it.each([
    ['exception', 'planted exception'],
    ['rejection', 'planted rejection'],
  ])('an uncaught %s is told, the parts are closed, and the exit is 1', async (plant, message) => {
    const result = await end(await run({ PARTS: 'gateway,worker', PLANT: plant }), 'SIGUSR2');
    expect(result.code).toBe(1);
    expect(result.err).toEqual([`fixture: uncaught error, shutting down: ${message}`]);
    expect(result.out).toEqual(['fixture: gateway stopped', 'fixture: worker stopped']);
  });
});

describe.concurrent('runService', () => {
  // The apps log their ready line from inside start; a signal sent as soon as it shows (a person
  // at Ctrl-C, a test, a supervisor) used to meet Node's default handler and kill the process.
  it('a signal sent while start is still running waits for it, then closes what it started', async () => {
    const result = await end(await run({ START_MS: '500' }, STARTING), 'SIGINT');
    expect(result.code).toBe(0);
    expect(result.out).toEqual([
      'fixture: SIGINT: shutting down',
      'app: fixture start finished',
      'app: server stopped',
    ]);
    expect(result.err).toEqual([]);
  });

  it("once started, a signal closes the parts through the app's own log", async () => {
    const started = await run({ START_MS: '0' }, STARTING);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const result = await end(started, 'SIGTERM');
    expect(result.code).toBe(0);
    expect(result.out).toEqual(['app: SIGTERM: shutting down', 'app: server stopped']);
  });
});
