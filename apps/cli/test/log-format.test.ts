import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { collectOutput, createTestQueuePrefix, type TestQueuePrefix } from '@runner-planner/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../src/ports.js';
import { assertBuilt, CLI, cleanEnv } from './support.js';

// What the apps print where, end to end; every combination of LOG_FORMAT and terminal is in
// packages/config/test/logging.test.ts.

let queue: TestQueuePrefix;
const children: ChildProcess[] = [];
beforeAll(() => {
  assertBuilt();
  queue = createTestQueuePrefix('cli-log-format');
});
afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  await queue?.cleanup();
});

const READY = 'gateway ready';
const ESC = '\u001b';
// util-linux `script` runs a command on a pseudo-terminal and copies what it draws to stdout.
const SCRIPT = '/usr/bin/script';

/**
 * `runner-planner gateway`'s output up to its ready line, then stopped as a person would: with
 * stdout a pipe, SIGTERM; on a terminal (`script`), Ctrl-C typed into it.
 */
async function gatewayOutput(
  stdout: 'pipe' | 'terminal',
  extra: Record<string, string> = {},
): Promise<{ output: string; code: number | null }> {
  const env = cleanEnv({
    REDIS_URL: queue.redisUrl,
    QUEUE_PREFIX: queue.prefix,
    GATEWAY_PORT: String(await freePort()),
    LISTEN_HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    ...extra,
  });
  if (extra.LOG_FORMAT === undefined) delete env.LOG_FORMAT;
  // `exec`: Ctrl-C must reach the app alone, as under a login shell's job control. `script` runs
  // `$SHELL -c`, and dash (where SHELL is unset, as under CI) stays the parent and dies of it.
  const terminal = `exec '${process.execPath}' '${CLI}' gateway`;
  const child =
    stdout === 'pipe'
      ? spawn(process.execPath, [CLI, 'gateway'], { env, stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn(SCRIPT, ['--quiet', '--return', '--command', terminal, '/dev/null'], { env });
  children.push(child);
  const output = collectOutput(child);
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  await new Promise<void>((resolve) => {
    const check = () => output().includes(READY) && resolve();
    child.stdout?.on('data', check);
    child.stderr?.on('data', check);
    void exited.then(() => resolve());
  });
  if (child.exitCode === null) {
    if (stdout === 'pipe') child.kill('SIGTERM');
    else child.stdin?.write('\u0003');
  }
  return { output: output(), code: await exited };
}

describe('log format of an app run alone', () => {
  it('is pretty on a terminal, one JSON object per line into a pipe, pretty there with LOG_FORMAT', async () => {
    const [terminal, json, pretty] = await Promise.all([
      gatewayOutput('terminal'),
      gatewayOutput('pipe'),
      gatewayOutput('pipe', { LOG_FORMAT: 'pretty' }),
    ]);

    // Coloured: the level in green, the message in cyan; Ctrl-C stops it cleanly.
    expect(terminal.output).toContain(`${ESC}[32mINFO${ESC}[39m: ${ESC}[36m${READY}`);
    expect(terminal.output).not.toContain('"msg"');
    expect(terminal.code).toBe(0);

    const lines = json.output.split('\n').filter((line) => line !== '');
    const ready = lines.map((line) => JSON.parse(line)).find((entry) => entry.msg?.includes(READY));
    expect(ready).toMatchObject({ level: 30 });
    expect(json.code).toBe(0);

    expect(pretty.output).toMatch(new RegExp(`^\\[\\d\\d:\\d\\d:\\d\\d\\.\\d{3}\\] INFO: ${READY}`, 'm'));
    expect(pretty.output).not.toContain('"msg"');
    // No colour codes where no terminal shows them.
    expect(pretty.output).not.toContain(ESC);
    expect(pretty.code).toBe(0);
  });
});
