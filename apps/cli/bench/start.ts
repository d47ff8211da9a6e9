/**
 * `runner-planner start` to ready (issue 5): cold (a fresh `.data/`, so embedded PostgreSQL runs
 * initdb first) and warm (a second start reusing that `.data/`). Each round spawns the built CLI
 * as a user would, with no DATABASE_URL (embedded PostgreSQL) and the machine's Redis, and
 * measures from spawn to
 *   - banner: the "runner-planner is running" banner printed in full, and
 *   - ready:  the gateway's and the worker's /ready both answering 200,
 * then stops it with SIGINT (as Ctrl-C) and waits for it to exit.
 *
 *   BENCH_ROUNDS     rounds of each kind (default 3): cold rounds each get a new directory,
 *                    warm rounds reuse the first cold round's directory
 *   BENCH_REDIS_URL  Redis the starts use (default redis://127.0.0.1:6379; keys under a
 *                    bench prefix, removed at the end)
 *
 * Prints a markdown table on stdout and progress on stderr.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { collectOutput, createTestQueuePrefix } from '@runner-planner/testkit';
import { distinctFreePorts } from '../src/ports.js';

const CLI = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const rounds = Number(process.env.BENCH_ROUNDS || 3);
const redisUrl = process.env.BENCH_REDIS_URL || 'redis://127.0.0.1:6379';
const BANNER_END = 'Ctrl-C stops everything';
const TIMEOUT_MS = 180_000;

interface Round {
  kind: 'cold' | 'warm';
  bannerSeconds: number;
  readySeconds: number;
  stopSeconds: number;
}

const log = (line: string) => process.stderr.write(`${line}\n`);
const load = () =>
  loadavg()
    .map((value) => value.toFixed(2))
    .join(' ');

/** Environment of a user in `cwd` with nothing set but ports, the bench's queue prefix and Redis. */
async function environment(prefix: string) {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of ['DATABASE_URL', 'ADMIN_TOKEN', 'GITHUB_WEBHOOK_SECRET', 'GITLAB_WEBHOOK_TOKEN']) {
    delete env[name];
  }
  const [gateway, planner, worker] = (await distinctFreePorts(3)) as [number, number, number];
  const ports = { gateway, planner, worker };
  return {
    ports,
    env: {
      ...env,
      REDIS_URL: redisUrl,
      QUEUE_PREFIX: prefix,
      GATEWAY_PORT: String(ports.gateway),
      PLANNER_PORT: String(ports.planner),
      WORKER_PORT: String(ports.worker),
      LOG_LEVEL: 'warn',
    },
  };
}

async function answers200(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(1_000) });
    await response.arrayBuffer();
    return response.status === 200;
  } catch {
    return false;
  }
}

async function oneStart(kind: Round['kind'], cwd: string, prefix: string): Promise<Round> {
  const { env, ports } = await environment(prefix);
  const started = performance.now();
  const child: ChildProcess = spawn(process.execPath, [CLI, 'start'], {
    cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = collectOutput(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    let bannerSeconds: number | undefined;
    let readySeconds: number | undefined;
    while (bannerSeconds === undefined || readySeconds === undefined) {
      if (child.exitCode !== null) throw new Error(`start exited with ${child.exitCode}:\n${output()}`);
      if (performance.now() - started > TIMEOUT_MS) throw new Error(`not ready after 180 s:\n${output()}`);
      const now = (performance.now() - started) / 1000;
      if (bannerSeconds === undefined && output().includes(BANNER_END)) bannerSeconds = now;
      if (readySeconds === undefined) {
        const [gateway, worker] = await Promise.all([
          answers200(`http://127.0.0.1:${ports.gateway}/ready`),
          answers200(`http://127.0.0.1:${ports.worker}/ready`),
        ]);
        if (gateway && worker) readySeconds = (performance.now() - started) / 1000;
      }
      await sleep(25);
    }
    const stopping = performance.now();
    child.kill('SIGINT');
    await exited;
    if (kind === 'cold' && !output().includes('initialising embedded PostgreSQL')) {
      throw new Error(`a cold start did not initialise PostgreSQL:\n${output()}`);
    }
    if (kind === 'warm' && output().includes('initialising embedded PostgreSQL')) {
      throw new Error(`a warm start initialised PostgreSQL again:\n${output()}`);
    }
    return { kind, bannerSeconds, readySeconds, stopSeconds: (performance.now() - stopping) / 1000 };
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  }
}

/** A fresh directory PostgreSQL can enter: it runs as the `postgres` user when we are root. */
async function freshDirectory(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'rp-bench-start-'));
  await chmod(dir, 0o755);
  return dir;
}

function summary(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted[Math.floor((sorted.length - 1) / 2)] ?? Number.NaN;
  const format = (value: number | undefined) => (value ?? Number.NaN).toFixed(2);
  return `${format(median)} (${format(sorted[0])}–${format(sorted.at(-1))})`;
}

async function main() {
  const queue = createTestQueuePrefix('bench-start');
  const directories: string[] = [];
  const results: Round[] = [];
  const loadAtStart = load();
  try {
    for (let round = 1; round <= rounds; round += 1) {
      const dir = await freshDirectory();
      directories.push(dir);
      const cold = await oneStart('cold', dir, queue.prefix);
      log(
        `cold ${round}/${rounds}: banner ${cold.bannerSeconds.toFixed(2)} s, ready ${cold.readySeconds.toFixed(2)} s`,
      );
      results.push(cold);
    }
    const reused = directories[0] as string;
    for (let round = 1; round <= rounds; round += 1) {
      const warm = await oneStart('warm', reused, queue.prefix);
      log(
        `warm ${round}/${rounds}: banner ${warm.bannerSeconds.toFixed(2)} s, ready ${warm.readySeconds.toFixed(2)} s`,
      );
      results.push(warm);
    }
  } finally {
    for (const dir of directories) await rm(dir, { recursive: true, force: true });
    await queue.cleanup();
  }
  const loadAtEnd = load();
  const lines = [
    `runner-planner start to ready, ${rounds} rounds each; median (min–max) seconds`,
    '',
    '| start | banner printed | gateway and worker /ready | Ctrl-C to exit |',
    '|---|---:|---:|---:|',
  ];
  for (const kind of ['cold', 'warm'] as const) {
    const of = results.filter((result) => result.kind === kind);
    lines.push(
      `| ${kind} | ${summary(of.map((r) => r.bannerSeconds))} | ${summary(of.map((r) => r.readySeconds))} | ${summary(of.map((r) => r.stopSeconds))} |`,
    );
  }
  lines.push(
    '',
    `${cpus().length} CPUs, Node ${process.version}, load average (1/5/15 min) ${loadAtStart} at start, ${loadAtEnd} at end`,
  );
  process.stdout.write(`${lines.join('\n')}\n`);
}

await main();
