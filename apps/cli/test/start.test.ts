import { type ChildProcess, spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtemp, readdir, readFile, realpath, rm, stat } from 'node:fs/promises';
import { networkInterfaces, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { collectOutput, createTestQueuePrefix, type TestQueuePrefix } from '@runner-planner/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { distinctFreePorts } from '../src/ports.js';
import { assertBuilt, CLI, cleanEnv, runCli } from './support.js';

interface Started {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
  gatewayUrl: string;
  githubSecret: string;
  adminToken: string;
}

let cwd: string;
let queue: TestQueuePrefix;
let env: NodeJS.ProcessEnv;
const children: ChildProcess[] = [];

beforeAll(async () => {
  assertBuilt();
  cwd = await mkdtemp(join(tmpdir(), 'rp-cli-start-'));
  queue = createTestQueuePrefix('cli-start');
  const [gatewayPort, plannerPort, workerPort] = await distinctFreePorts(3);
  env = cleanEnv({
    QUEUE_PREFIX: queue.prefix,
    GATEWAY_PORT: String(gatewayPort),
    PLANNER_PORT: String(plannerPort),
    WORKER_PORT: String(workerPort),
    LOG_LEVEL: 'warn',
  });
});

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  for (const pid of await postgresPids()) process.kill(pid, 'SIGKILL');
  await queue?.cleanup();
  // As root the cluster is outside the directory, where .data/postgres links to.
  const cluster = cwd ? await clusterDir() : undefined;
  if (cluster?.startsWith('/var/lib/runner-planner/clusters/')) {
    await rm(dirname(cluster), { recursive: true, force: true });
  }
  if (cwd) await rm(cwd, { recursive: true, force: true });
});

/** The embedded cluster's data directory: `.data/postgres`, or where it links to (as root). */
const clusterDir = () => realpath(join(cwd, '.data', 'postgres')).catch(() => undefined);

/** Processes whose command line names this test's cluster. */
async function postgresPids(): Promise<number[]> {
  const cluster = cwd ? await clusterDir() : undefined;
  if (cluster === undefined) return [];
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(cluster)) pids.push(Number(entry));
  }
  return pids;
}

async function start(supplied: NodeJS.ProcessEnv = {}): Promise<Started> {
  const child = spawn(process.execPath, [CLI, 'start'], {
    cwd,
    env: { ...env, ...supplied },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const text = collectOutput(child);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 180_000;
  while (!text().includes('Ctrl-C stops everything')) {
    if (child.exitCode !== null) throw new Error(`start exited with ${child.exitCode}:\n${text()}`);
    if (Date.now() > deadline) throw new Error(`start not ready after 180 s:\n${text()}`);
    await sleep(200);
  }
  const field = (label: string) => {
    const match = new RegExp(`${label}:\\s+(\\S+)`).exec(text());
    if (!match?.[1]) throw new Error(`no "${label}" in:\n${text()}`);
    return match[1];
  };
  return {
    child,
    output: text,
    exited,
    gatewayUrl: field('GitHub webhook URL'),
    githubSecret: supplied.GITHUB_WEBHOOK_SECRET ?? field('GitHub webhook secret'),
    adminToken: supplied.ADMIN_TOKEN ?? field('Admin token'),
  };
}

async function sendQueuedJob(started: Started, id: number): Promise<number> {
  const body = JSON.stringify({
    action: 'queued',
    workflow_job: {
      id,
      run_id: 1,
      status: 'queued',
      labels: ['self-hosted', 'small'],
      created_at: new Date().toISOString(),
      started_at: null,
      completed_at: null,
    },
    repository: { full_name: 'octo/repo' },
  });
  const signature = createHmac('sha256', started.githubSecret).update(body).digest('hex');
  const response = await fetch(started.gatewayUrl, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-github-event': 'workflow_job',
      'x-github-delivery': `delivery-${id}`,
      'x-hub-signature-256': `sha256=${signature}`,
    },
    body,
  });
  return response.status;
}

async function pressureBecomes(expected: Record<string, number>): Promise<void> {
  const deadline = Date.now() + 30_000;
  let last = '';
  while (Date.now() < deadline) {
    const result = await runCli(['pressure', '--json'], { env, cwd });
    last = result.stdout + result.stderr;
    if (result.code === 0 && JSON.stringify(JSON.parse(result.stdout)) === JSON.stringify(expected)) return;
    await sleep(500);
  }
  throw new Error(`pressure never became ${JSON.stringify(expected)}; last: ${last}`);
}

/** This machine's addresses other than loopback (none in a network-less sandbox). */
function externalAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .filter((nic) => nic !== undefined && !nic.internal && nic.family === 'IPv4')
    .map((nic) => (nic as { address: string }).address);
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function interrupt(started: Started): Promise<number | null> {
  started.child.kill('SIGINT');
  return started.exited;
}

describe('runner-planner start', () => {
  it('runs everything on embedded PostgreSQL, counts a signed webhook, stops on Ctrl-C', async () => {
    const started = await start();
    expect(started.output()).toContain('initialising embedded PostgreSQL');
    expect(started.adminToken).toMatch(/^planner_v0_[A-Za-z0-9_-]{20}$/);
    expect(started.gatewayUrl).toMatch(/\/webhooks\/github$/);
    const secrets = join(cwd, '.data', 'secrets.json');
    expect((await stat(secrets)).mode & 0o777).toBe(0o600);

    // Admin commands in this directory find the running instance through .data/runtime.json.
    const added = await runCli(['flavor', 'add', 'small', '--platform', 'github', '--labels', 'small'], {
      env,
      cwd,
    });
    expect(added.code, added.stderr).toBe(0);
    expect(await sendQueuedJob(started, 1)).toBe(202);
    await pressureBecomes({ small: 1 });
    expect(started.output()).toContain('Listening on 127.0.0.1 only');
    // Loopback only: the machine's other addresses refuse the connection.
    for (const address of externalAddresses()) {
      await expect(fetch(`http://${address}:${new URL(started.gatewayUrl).port}/health`)).rejects.toThrow();
    }

    expect(await interrupt(started)).toBe(0);
    expect(started.output()).toContain('embedded PostgreSQL stopped');
    expect(await postgresPids()).toEqual([]);
  });

  it('reuses .data on a second start, and cleans a stale postmaster.pid after a kill', async () => {
    const second = await start();
    expect(second.output()).not.toContain('initialising embedded PostgreSQL');
    const secrets = JSON.parse(await readFile(join(cwd, '.data', 'secrets.json'), 'utf8'));
    expect(second.githubSecret).toBe(secrets.githubWebhookSecret);
    await pressureBecomes({ small: 1 });

    // A killed run: the CLI first, then its PostgreSQL, leaving postmaster.pid behind.
    second.child.kill('SIGKILL');
    await second.exited;
    const pidFile = join((await clusterDir()) as string, 'postmaster.pid');
    const postmaster = Number((await readFile(pidFile, 'utf8')).split('\n')[0]);
    process.kill(postmaster, 'SIGKILL');
    for (let waited = 0; (await postgresPids()).length > 0 && waited < 20_000; waited += 200)
      await sleep(200);
    expect(await stat(pidFile)).toBeTruthy();

    // Secrets the user supplies are used but never printed (start prints only those it made).
    const supplied = {
      GITHUB_WEBHOOK_SECRET: 'user-supplied-webhook-secret-0123456789',
      ADMIN_TOKEN: 'planner_v0_userSuppliedAdminTok',
    };
    const third = await start(supplied);
    expect(third.output()).toContain(`removing stale ${pidFile}`);
    expect(third.output()).toContain('GitHub webhook secret: (yours, from GITHUB_WEBHOOK_SECRET; not shown)');
    expect(third.output()).toContain('Admin token:           (yours, from ADMIN_TOKEN; not shown)');
    for (const value of Object.values(supplied)) expect(third.output()).not.toContain(value);
    expect(await sendQueuedJob(third, 2)).toBe(202);
    await pressureBecomes({ small: 2 });
    expect(await interrupt(third)).toBe(0);
    expect(await postgresPids()).toEqual([]);
  });

  it('stops the postmaster a SIGKILLed start left running, then comes up on the same data', async () => {
    const killed = await start();
    const pidFile = join((await clusterDir()) as string, 'postmaster.pid');
    const postmaster = Number((await readFile(pidFile, 'utf8')).split('\n')[0]);
    // Only the CLI dies: its PostgreSQL keeps running with the data directory locked.
    killed.child.kill('SIGKILL');
    await killed.exited;
    await sleep(500);
    expect(isRunning(postmaster)).toBe(true);
    expect(await postgresPids()).toContain(postmaster);

    const next = await start();
    expect(next.output()).toContain(
      `stopping PostgreSQL pid ${postmaster} left running by a killed runner-planner start`,
    );
    expect(isRunning(postmaster)).toBe(false);
    // The jobs of the earlier runs are still there, and new webhooks are counted.
    await pressureBecomes({ small: 2 });
    expect(await sendQueuedJob(next, 3)).toBe(202);
    await pressureBecomes({ small: 3 });
    expect(await interrupt(next)).toBe(0);
    expect(await postgresPids()).toEqual([]);
  });
});
