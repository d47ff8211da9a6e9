import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { type Cleanup, sleep } from '@runner-planner/bench-kit';

/** Raises the open-files limit as far as allowed, then becomes the given command (same pid). */
const WITH_MANY_FILES = 'ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$0" "$@"';
/** Output kept per process, for the error message when it fails. */
const KEEP_OUTPUT = 64 * 1024;

export interface BenchProcess {
  name: string;
  pid: number;
  child: ChildProcess;
  /** The end of its stdout and stderr. */
  output(): string;
  /** SIGTERM, SIGKILL after 10 s; resolves once it has exited. Idempotent. */
  stop(): Promise<void>;
}

export interface SpawnOptions {
  env: Record<string, string>;
  /** Run through bash with the open-files limit raised (for thousands of sockets). */
  manyFiles?: boolean;
  /** An IPC channel (`process.send`) to the child. */
  ipc?: boolean;
}

/**
 * With BENCH_PROFILE_DIR set, the servers under test (planner, baseline) write a V8 CPU profile
 * there when they exit (`node --cpu-prof`); the figures are then slower than without.
 */
export function profileArgs(): string[] {
  const dir = process.env.BENCH_PROFILE_DIR;
  return dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--cpu-prof-interval=500'] : [];
}

/** Arguments for `node` to run a TypeScript file of this folder. */
export function tsArgs(script: string, args: string[] = []): string[] {
  const path = fileURLToPath(new URL(script, import.meta.url));
  return ['--import', import.meta.resolve('tsx'), '--conditions=source', path, ...args];
}

/** Starts `node <args>` as its own process, stopped by `cleanup` at the latest. */
export function spawnNode(
  name: string,
  args: string[],
  options: SpawnOptions,
  cleanup: Cleanup,
): BenchProcess {
  const [command, commandArgs] = options.manyFiles
    ? ['bash', ['-c', WITH_MANY_FILES, process.execPath, ...args]]
    : [process.execPath, args];
  const child = spawn(command, commandArgs, {
    env: { PATH: process.env.PATH ?? '', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe', ...(options.ipc ? (['ipc'] as const) : [])],
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-KEEP_OUTPUT);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = once(child, 'exit').catch(() => {});
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  const stopNow = cleanup.add(name, stop);
  return { name, pid: child.pid ?? -1, child, output: () => output, stop: stopNow };
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** Waits until `url` answers 200, failing early when the process exits. */
export async function waitHealthy(proc: BenchProcess, url: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.child.exitCode !== null) throw new Error(`${proc.name} exited at start:\n${proc.output()}`);
    if (Date.now() > deadline)
      throw new Error(`${proc.name} did not answer ${url} in time:\n${proc.output()}`);
    const ok = await fetch(url).then(
      (response) => response.ok,
      () => false,
    );
    if (ok) return;
    await sleep(100);
  }
}

/** Receives a child's IPC messages in order; `next(type)` waits for the next one of that type. */
export class Inbox<M extends { type: string }> {
  private readonly queue: M[] = [];
  private readonly waiting: { type: string; resolve(message: M): void }[] = [];

  constructor(private readonly proc: BenchProcess) {
    proc.child.on('message', (message: M) => {
      const index = this.waiting.findIndex((waiter) => waiter.type === message.type);
      const [waiter] = index === -1 ? [] : this.waiting.splice(index, 1);
      if (waiter) waiter.resolve(message);
      else this.queue.push(message);
    });
  }

  async next<T extends M['type']>(type: T, timeoutMs: number): Promise<Extract<M, { type: T }>> {
    const index = this.queue.findIndex((message) => message.type === type);
    const [queued] = index === -1 ? [] : this.queue.splice(index, 1);
    if (queued) return queued as Extract<M, { type: T }>;
    const child = this.proc.child;
    if (child.exitCode !== null || child.signalCode !== null) throw this.exitError(type);
    let timer: NodeJS.Timeout | undefined;
    let onExit: (() => void) | undefined;
    const waiter = { type, resolve: (_message: M) => {} };
    try {
      return await new Promise<Extract<M, { type: T }>>((resolve, reject) => {
        waiter.resolve = resolve as (message: M) => void;
        this.waiting.push(waiter);
        timer = setTimeout(
          () => reject(new Error(`${this.proc.name}: no "${type}" within ${timeoutMs} ms`)),
          timeoutMs,
        );
        onExit = () => reject(this.exitError(type));
        child.once('exit', onExit);
      });
    } finally {
      clearTimeout(timer);
      if (onExit) child.off('exit', onExit);
      const left = this.waiting.indexOf(waiter);
      if (left !== -1) this.waiting.splice(left, 1);
    }
  }

  private exitError(type: string): Error {
    return new Error(`${this.proc.name} exited waiting for "${type}":\n${this.proc.output()}`);
  }
}
