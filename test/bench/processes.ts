import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { type Cleanup, sleep } from '@runner-planner/bench-kit';
import type { ChildMessage } from './child-protocol.js';

/** `node --import tsx <script>`: a TypeScript file of this folder as its own process. */
function spawnScript(script: string, args: string[], env: Record<string, string>): ChildProcess {
  const path = fileURLToPath(new URL(script, import.meta.url));
  return spawn(process.execPath, ['--import', import.meta.resolve('tsx'), path, ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function collect(child: ChildProcess): { stdout: () => string; stderr: () => string } {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    stderr += chunk;
  });
  return { stdout: () => stdout, stderr: () => stderr };
}

async function stopChild(child: ChildProcess, exited: Promise<unknown>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

export interface ScriptProcess {
  pid: number;
  stop(): Promise<void>;
  output(): string;
}

/** Starts a long-running script (a server) and waits until `healthUrl` answers 200. */
export async function startScriptServer(
  script: string,
  env: Record<string, string>,
  healthUrl: string,
): Promise<ScriptProcess> {
  const child = spawnScript(script, [], env);
  const output = collect(child);
  const exited = once(child, 'exit');
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${script} exited at start:\n${output.stderr()}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${script} did not answer ${healthUrl} within 30 s:\n${output.stderr()}`);
    }
    const healthy = await fetch(healthUrl).then(
      (response) => response.ok,
      () => false,
    );
    if (healthy) break;
    await sleep(100);
  }
  return {
    pid: child.pid ?? -1,
    stop: () => stopChild(child, exited),
    output: () => output.stdout() + output.stderr(),
  };
}

/**
 * Runs a load generator script (see child-protocol.ts) to its end and returns its result.
 * `onMeasuring` is called when its measured part starts.
 */
export async function runLoadGenerator<T>(
  script: string,
  input: unknown,
  cleanup: Cleanup,
  onMeasuring: () => void | Promise<void> = () => {},
): Promise<T> {
  const child = spawnScript(script, [JSON.stringify(input)], {});
  const exited = once(child, 'exit');
  const stop = cleanup.add(script, () => stopChild(child, exited));
  let stderr = '';
  child.stderr?.on('data', (chunk) => {
    stderr += chunk;
  });
  let result: T | undefined;
  let pending = '';
  const measuring: Promise<void>[] = [];
  child.stdout?.on('data', (chunk) => {
    pending += chunk;
    for (let end = pending.indexOf('\n'); end !== -1; end = pending.indexOf('\n')) {
      const message = JSON.parse(pending.slice(0, end)) as ChildMessage;
      pending = pending.slice(end + 1);
      if (message.event === 'measuring') measuring.push(Promise.resolve(onMeasuring()));
      else result = message.result as T;
    }
  });
  try {
    const [code] = await exited;
    await Promise.all(measuring);
    if (code !== 0 || result === undefined)
      throw new Error(`${script} exited with ${String(code)}:\n${stderr}`);
    return result;
  } finally {
    await stop();
  }
}
