import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmod, chown, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { collectOutput, createTestQueuePrefix, type TestQueuePrefix } from '@runner-planner/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { distinctFreePorts, freePort } from '../src/ports.js';
import { assertBuilt, CLI, cleanEnv } from './support.js';

/**
 * `runner-planner start` on the machines a newcomer brings, each setting made real on this
 * machine: a private directory (a mount namespace puts the checkout itself under a mode-700
 * directory, as under /root), a non-root user, a path with a space, no Redis on 6379 (a network
 * namespace with nothing listening), no redis-server, each port taken, a second start, a `.data/`
 * of another user, a full disk (a filled tmpfs), unreachable DATABASE_URL and REDIS_URL.
 * Settings run concurrently; each failure is asserted as its exact one line on stderr.
 */

const CHECKOUT = fileURLToPath(new URL('../../..', import.meta.url)).replace(/\/$/, '');
const NODE = process.execPath;
const isRoot = process.getuid?.() === 0;
const works = (command: string, args: string[]) => spawnSync(command, args, { stdio: 'ignore' }).status === 0;
// Namespaces need root and a kernel/container that allows them; CI in a locked-down container may not.
const namespaces = isRoot && works('unshare', ['-n', '-m', 'true']) && works('ip', ['-V']);
const noNamespaces = 'needs root and unshare (network and mount namespaces)';

let base: string;
let queue: TestQueuePrefix;
const children: ChildProcess[] = [];
const servers: Server[] = [];
const users: string[] = [];
const dataDirs: string[] = [];

beforeAll(async () => {
  assertBuilt();
  base = await mkdtemp(join(tmpdir(), 'rp-machines-'));
  await chmod(base, 0o755);
  queue = createTestQueuePrefix('cli-machines');
});

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  for (const pid of await pidsNaming([base, ...(await clusterHomes())])) process.kill(pid, 'SIGKILL');
  for (const server of servers) server.close();
  const homes = await clusterHomes();
  for (const user of users) spawnSync('userdel', [user]);
  for (const home of homes) await rm(home, { recursive: true, force: true });
  // Loaders made for the checkout as the mount namespaces showed it (see embedded-postgres).
  const loaders = '/var/lib/runner-planner/loaders';
  for (const loader of await readdir(loaders).catch(() => [])) {
    const pg = await readlink(join(loaders, loader, 'node_modules', 'pg')).catch(() => '');
    if (base && pg.startsWith(base)) await rm(join(loaders, loader), { recursive: true, force: true });
  }
  await queue?.cleanup();
  if (base) await rm(base, { recursive: true, force: true });
}, 60_000);

/** The `/var/lib/runner-planner/clusters/<hash>` directories root's starts made for this file. */
async function clusterHomes(): Promise<string[]> {
  const homes: string[] = [];
  for (const dir of dataDirs) {
    const link = join(dir, 'postgres');
    const isLink = await lstat(link).then(
      (found) => found.isSymbolicLink(),
      () => false,
    );
    if (isLink) homes.push(dirname(await readlink(link)));
  }
  return homes;
}

/** Processes whose command line names one of `paths` (postgres -D, redis-server --dir). */
async function pidsNaming(paths: string[]): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (paths.some((path) => cmdline.includes(path))) pids.push(Number(entry));
  }
  return pids;
}

/** A fresh working directory, `mode` 755 unless told. */
async function workdir(name: string, mode = 0o755): Promise<string> {
  const dir = join(base, name);
  await mkdir(dir, { recursive: true });
  await chmod(dir, mode);
  dataDirs.push(join(dir, '.data'));
  return dir;
}

async function env(extra: Record<string, string> = {}): Promise<NodeJS.ProcessEnv> {
  const [gatewayPort, plannerPort, workerPort] = await distinctFreePorts(3);
  const clean = cleanEnv({
    QUEUE_PREFIX: queue.prefix,
    GATEWAY_PORT: String(gatewayPort),
    PLANNER_PORT: String(plannerPort),
    WORKER_PORT: String(workerPort),
    LOG_LEVEL: 'warn',
    ...extra,
  });
  for (const name of Object.keys(clean)) if (name.startsWith('VITEST')) delete clean[name];
  return clean;
}

interface Run {
  child: ChildProcess;
  output: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

/** `command` (default: the CLI's `start`) run in `cwd`, optionally wrapped (unshare…) or as another user. */
function run(
  cwd: string,
  environment: NodeJS.ProcessEnv,
  options: { command?: string[]; uid?: number; gid?: number } = {},
): Run {
  const [file, ...args] = options.command ?? [NODE, CLI, 'start'];
  const child = spawn(file as string, args, {
    cwd,
    env: environment,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(options.uid === undefined ? {} : { uid: options.uid, gid: options.gid }),
  });
  children.push(child);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const output = collectOutput(child);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output, stderr: () => stderr, exited };
}

async function ready(started: Run): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (!started.output().includes('Ctrl-C stops everything')) {
    if (started.child.exitCode !== null) {
      throw new Error(`start exited with ${started.child.exitCode}:\n${started.output()}`);
    }
    if (Date.now() > deadline) throw new Error(`start not ready after 120 s:\n${started.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Ready, then Ctrl-C: everything it started stops and it exits 0. */
async function startsAndStops(started: Run): Promise<string> {
  await ready(started);
  started.child.kill('SIGINT');
  expect(await started.exited, started.output()).toBe(0);
  expect(started.output()).toContain('embedded PostgreSQL stopped');
  return started.output();
}

/** Exits 1 with exactly `line` on stderr. */
async function failsWith(started: Run, line: string): Promise<void> {
  expect(await started.exited, started.output()).toBe(1);
  expect(started.stderr()).toBe(`runner-planner: ${line}\n`);
}

/** The CLI in a mount namespace where the checkout appears under `dir` (mode 700), as under /root. */
function inPrivateCheckout(dir: string, cwd: string, command: string): string[] {
  const script = `mount --bind "$1" "$2/checkout" && cd "$3" && exec ${command}`;
  return ['unshare', '-m', '--propagation', 'private', 'sh', '-c', script, 'sh', CHECKOUT, dir, cwd];
}

async function listen(host = '127.0.0.1'): Promise<number> {
  const server = createServer();
  servers.push(server);
  await new Promise<void>((resolve) => server.listen({ port: 0, host }, resolve));
  const address = server.address();
  return typeof address === 'object' && address !== null ? address.port : 0;
}

describe.concurrent('runner-planner start on a newcomer machine', () => {
  it.skipIf(!namespaces)(
    `as root with the checkout and the working directory under a mode-700 directory; a second start there is refused (${noNamespaces})`,
    { timeout: 180_000 },
    async () => {
      const dir = await mkdtemp(join(base, 'private-'));
      await chmod(dir, 0o700);
      await mkdir(join(dir, 'checkout'));
      await mkdir(join(dir, 'home'));
      dataDirs.push(join(dir, 'home', '.data'));
      const command = (cwd: string, tail: string) => inPrivateCheckout(dir, cwd, tail);
      const environment = await env();
      const cliStart = `"${NODE}" "$2/checkout/apps/cli/dist/main.js" start`;
      const first = run(dir, environment, { command: command(join(dir, 'home'), cliStart) });
      await ready(first);
      // The cluster is outside the user's directories; .data/postgres says where.
      const link = await readlink(join(dir, 'home', '.data', 'postgres'));
      expect(link).toMatch(/^\/var\/lib\/runner-planner\/clusters\/[0-9a-f]{16}\/postgres$/);
      expect((await lstat(dir)).mode & 0o777).toBe(0o700);

      const second = run(dir, await env(), { command: command(join(dir, 'home'), cliStart) });
      const pid = first.child.pid;
      await failsWith(
        second,
        `runner-planner start is already running in this directory (pid ${pid}): stop it first (Ctrl-C in its terminal, or kill ${pid})`,
      );
      first.child.kill('SIGINT');
      expect(await first.exited, first.output()).toBe(0);
    },
  );

  it.skipIf(!namespaces)(
    `pnpm test subset: testkit's embedded-server test as root in a checkout under a mode-700 directory (${noNamespaces})`,
    { timeout: 180_000 },
    async () => {
      const dir = await mkdtemp(join(base, 'private-test-'));
      await chmod(dir, 0o700);
      await mkdir(join(dir, 'checkout'));
      const vitest = `"${NODE}" node_modules/vitest/vitest.mjs run --project testkit -t startEmbeddedPostgres`;
      const tests = run(dir, await env({ NO_COLOR: '1' }), {
        command: inPrivateCheckout(dir, join(dir, 'checkout'), vitest),
      });
      expect(await tests.exited, tests.output()).toBe(0);
      expect(tests.output()).toMatch(/Tests\s+1 passed/);
    },
  );

  it.skipIf(!isRoot)('as a non-root user the test creates', { timeout: 180_000 }, async (context) => {
    const user = `rp-t-${process.pid}`;
    execFileSync('useradd', ['--no-create-home', '--shell', '/usr/sbin/nologin', user]);
    users.push(user);
    const uid = Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }));
    const gid = Number(execFileSync('id', ['-g', user], { encoding: 'utf8' }));
    const cwd = await workdir('user');
    await chown(cwd, uid, gid);
    // A checkout that only root can read (CI under a private directory) cannot be run by anyone else.
    const readable = spawnSync(NODE, ['-e', `require('fs').accessSync(${JSON.stringify(CLI)})`], {
      uid,
      gid,
    });
    if (readable.status !== 0) context.skip();
    const output = await startsAndStops(run(cwd, await env({ HOME: cwd }), { uid, gid }));
    expect(output).toContain(`initialising embedded PostgreSQL in ${cwd}/.data/postgres`);
  });

  it('as root in a path with a space', { timeout: 180_000 }, async () => {
    const cwd = await workdir('with a space/and more');
    const output = await startsAndStops(run(cwd, await env()));
    expect(output).toContain('embedded PostgreSQL ready');
  });

  it.skipIf(!namespaces)(
    `with no Redis on 6379 and redis-server on the PATH, on the default ports (${noNamespaces})`,
    { timeout: 180_000 },
    async () => {
      const cwd = await workdir('no-redis');
      const environment = cleanEnv({ LOG_LEVEL: 'warn', QUEUE_PREFIX: queue.prefix });
      const script = `ip link set lo up && exec "${NODE}" "${CLI}" start`;
      const output = await startsAndStops(
        run(cwd, environment, { command: ['unshare', '-n', 'sh', '-c', script] }),
      );
      expect(output).toMatch(/started redis-server on redis:\/\/127\.0\.0\.1:\d+ \(append-only data in /);
      expect(output).toContain('GitHub webhook URL:    http://localhost:8080/webhooks/github');
      expect(output).toContain('redis-server stopped');
    },
  );

  it.skipIf(!namespaces)(`with no Redis and no redis-server (${noNamespaces})`, async () => {
    const cwd = await workdir('no-redis-server');
    const empty = await workdir('empty-path');
    const script = `ip link set lo up && PATH="${empty}" exec "${NODE}" "${CLI}" start`;
    await failsWith(
      run(cwd, await env(), { command: ['unshare', '-n', 'sh', '-c', script] }),
      'no Redis answers on 127.0.0.1:6379 and redis-server is not on PATH: install Redis (apt install redis-server, brew install redis) or set REDIS_URL to a Redis you have',
    );
  });

  for (const variable of ['GATEWAY_PORT', 'PLANNER_PORT', 'WORKER_PORT']) {
    it(`with the port of ${variable} taken`, async () => {
      const cwd = await workdir(`port-${variable}`);
      const port = await listen();
      await failsWith(
        run(cwd, await env({ [variable]: String(port) })),
        `port ${port} is in use (${variable}): stop what uses it or set ${variable} to a free port`,
      );
    });
  }

  it.skipIf(!isRoot)('with a .data/ left by another user', async () => {
    const cwd = await workdir('other-user');
    await mkdir(join(cwd, '.data'));
    await chown(join(cwd, '.data'), 65534, 65534);
    const name = spawnSync('id', ['-nu', '65534'], { encoding: 'utf8' }).stdout.trim() || '65534';
    await failsWith(
      run(cwd, await env()),
      `${cwd}/.data belongs to user ${name} (uid 65534), not to root: run start as ${name}, or remove ${cwd}/.data to start afresh`,
    );
  });

  it.skipIf(!namespaces)(`on a full disk (${noNamespaces})`, async () => {
    const cwd = await workdir('full-disk');
    const script = `mount -t tmpfs -o size=64k tmpfs "$1" && (dd if=/dev/zero of="$1/fill" bs=4k 2>/dev/null; true) && cd "$1" && exec "${NODE}" "${CLI}" start`;
    await failsWith(
      run(base, await env(), {
        command: ['unshare', '-m', '--propagation', 'private', 'sh', '-c', script, 'sh', cwd],
      }),
      `no space left on device for ${cwd}/.data: free some space and start again`,
    );
  });

  it('with an unreachable DATABASE_URL', async () => {
    const cwd = await workdir('bad-database-url');
    const port = await freePort();
    await failsWith(
      run(cwd, await env({ DATABASE_URL: `postgres://rp:secret@127.0.0.1:${port}/rp` })),
      `cannot reach PostgreSQL at DATABASE_URL=postgres://rp:***@127.0.0.1:${port}/rp (connect ECONNREFUSED 127.0.0.1:${port}): start it or correct DATABASE_URL, or unset DATABASE_URL for an embedded PostgreSQL`,
    );
  });

  it('with an unreachable REDIS_URL', async () => {
    const cwd = await workdir('bad-redis-url');
    const port = await freePort();
    await failsWith(
      run(cwd, await env({ REDIS_URL: `redis://127.0.0.1:${port}` })),
      `cannot reach Redis at REDIS_URL=redis://127.0.0.1:${port} (connect ECONNREFUSED 127.0.0.1:${port}): start it or correct REDIS_URL, or unset REDIS_URL to use 127.0.0.1:6379 or a redis-server start launches`,
    );
  });
});
