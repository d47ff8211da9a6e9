import { execFile } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { type OwnRedis, startOwnRedis, waitForReplicas } from '../chaos/harness/redis-server.js';

const run = promisify(execFile);

/** A Redis Cluster of the test's own: three masters, each with one replica, on loopback. */
export interface OwnCluster {
  /** REDIS_URL for the apps: `redis+cluster://` with every master as a seed. */
  url: string;
  nodes: OwnRedis[];
  /** The node (master now) that holds `key`'s hash slot. */
  masterOf(key: string): Promise<OwnRedis>;
  /** Resolves once every slot is served and the cluster says `ok` (a failover included). */
  healthy(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

const NODE_TIMEOUT_MS = 2_000;

async function withNode<T>(url: string, work: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1, retryStrategy: () => null });
  redis.on('error', () => {});
  try {
    return await work(redis);
  } finally {
    redis.disconnect();
  }
}

export async function startCluster(): Promise<OwnCluster> {
  const nodes = await Promise.all(
    Array.from({ length: 6 }, () =>
      startOwnRedis({ appendonly: true, appendfsync: 'everysec', clusterNodeTimeoutMs: NODE_TIMEOUT_MS }),
    ),
  );
  const hosts = nodes.map((node) => new URL(node.url).host);
  // redis-cli assigns the slots to the first three and makes each of the others a replica.
  await run('redis-cli', ['--cluster', 'create', ...hosts, '--cluster-replicas', '1', '--cluster-yes']);
  const alive = new Set(nodes);
  const cluster: OwnCluster = {
    url: `redis+cluster://${hosts.slice(0, 3).join(',')}`,
    nodes,
    async masterOf(key) {
      for (const node of alive) {
        const port = await withNode(node.url, async (redis) => {
          const slot = Number(await redis.call('CLUSTER', 'KEYSLOT', key));
          const ranges = (await redis.call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
          return ranges.find(([from, to]) => slot >= from && slot <= to)?.[2][1];
        }).catch(() => undefined);
        const master = nodes.find((candidate) => new URL(candidate.url).port === String(port));
        if (master !== undefined) return master;
      }
      throw new Error(`no live node knows the master of ${key}'s slot`);
    },
    async healthy(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const states = await Promise.all(
          [...alive].map((node) =>
            withNode(node.url, async (redis) => String(await redis.call('CLUSTER', 'INFO'))).catch(() => ''),
          ),
        );
        if (states.every((info) => info.includes('cluster_state:ok'))) return;
        if (Date.now() > deadline) throw new Error('the cluster did not become healthy');
        await sleep(200);
      }
    },
    async close() {
      await Promise.all(nodes.map((node) => node.close()));
    },
  };
  // The cluster asks only the nodes it believes alive.
  for (const node of nodes) {
    const kill = node.kill.bind(node);
    const start = node.start.bind(node);
    node.kill = async () => {
      alive.delete(node);
      await kill();
    };
    node.start = async () => {
      await start();
      alive.add(node);
    };
  }
  await cluster.healthy();
  // Each master's replica past its first sync, so a write can be acknowledged by it.
  await Promise.all(nodes.slice(0, 3).map((master) => waitForReplicas(master.url, 1)));
  return cluster;
}
