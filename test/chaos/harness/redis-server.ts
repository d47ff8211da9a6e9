import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { freePort } from '../../support/apps.js';

export interface RedisServerOptions {
  /** Append-only file on (`yes`) or no persistence at all (`no`, RDB snapshots off too). */
  appendonly: boolean;
  appendfsync?: 'always' | 'everysec' | 'no';
  /** Starts it as a replica of the Redis at this URL. */
  replicaOf?: string;
  /** A Redis Cluster node (`cluster-enabled yes`), failed over by its replicas after this many ms. */
  clusterNodeTimeoutMs?: number;
}

/** A redis-server of this test's own, so it can be killed without touching the machine's Redis. */
export interface OwnRedis {
  url: string;
  /** SIGKILL: no shutdown save, no chance to flush anything that is not already written. */
  kill(): Promise<void>;
  /** Starts it again on the same port and data directory. */
  start(): Promise<void>;
  close(): Promise<void>;
}

export async function startOwnRedis(options: RedisServerOptions): Promise<OwnRedis> {
  const dir = await mkdtemp(join(tmpdir(), 'rp-chaos-redis-'));
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--appendonly',
    options.appendonly ? 'yes' : 'no',
    '--appendfsync',
    options.appendfsync ?? 'everysec',
    // Without AOF nothing must survive a crash either: no RDB snapshot to fall back on.
    '--save',
    '',
    ...(options.replicaOf === undefined
      ? []
      : ['--replicaof', new URL(options.replicaOf).hostname, new URL(options.replicaOf).port]),
    ...(options.clusterNodeTimeoutMs === undefined
      ? []
      : [
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          join(dir, 'nodes.conf'),
          '--cluster-node-timeout',
          String(options.clusterNodeTimeoutMs),
        ]),
  ];
  let child: ChildProcess | undefined;

  const start = async () => {
    const server = spawn('redis-server', args, { stdio: 'ignore' });
    child = server;
    const deadline = Date.now() + 15_000;
    for (;;) {
      if (server.exitCode !== null) throw new Error(`redis-server exited with ${server.exitCode}`);
      if (Date.now() > deadline) throw new Error('redis-server did not answer within 15 s');
      if (await answers(url)) return;
      await sleep(50);
    }
  };
  const kill = async () => {
    const server = child;
    if (server === undefined || server.exitCode !== null || server.signalCode !== null) return;
    const exited = once(server, 'exit');
    server.kill('SIGKILL');
    await exited;
  };

  await start();
  return {
    url,
    kill,
    start,
    async close() {
      await kill();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Whether Redis answers PING and has finished loading its data. */
async function answers(url: string): Promise<boolean> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => {});
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

/** Replicas the Redis at `url` counts online: past their initial sync, acknowledging its writes. */
export async function replicasOnline(url: string): Promise<number> {
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  client.on('error', () => {});
  try {
    return (await client.info('replication')).match(/^slave\d+:.*state=online/gm)?.length ?? 0;
  } finally {
    client.disconnect();
  }
}

/** Waits until the Redis at `url` has `count` replicas online (15 s at most). */
export async function waitForReplicas(url: string, count: number): Promise<void> {
  const deadline = Date.now() + 15_000;
  while ((await replicasOnline(url)) !== count) {
    if (Date.now() > deadline) throw new Error(`${url} never had ${count} replicas online`);
    await sleep(50);
  }
}
