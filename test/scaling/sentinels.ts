import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { freePort } from '../support/apps.js';

export const MASTER_NAME = 'runner-planner-test';

export interface Sentinels {
  /** REDIS_URL for the apps: `redis+sentinel://…/<master>`. */
  url: string;
  /** The address the Sentinels currently give for the master. */
  master(): Promise<string>;
  close(): Promise<void>;
}

/**
 * Three Sentinels (`redis-server --sentinel`) of the test's own watching the Redis at `masterUrl`,
 * quick to decide: the master is down after 1 s without an answer, and two must agree.
 */
export async function startSentinels(masterUrl: string): Promise<Sentinels> {
  const master = new URL(masterUrl);
  const dir = await mkdtemp(join(tmpdir(), 'rp-sentinels-'));
  const children: ChildProcess[] = [];
  const ports: number[] = [];
  for (let i = 0; i < 3; i += 1) {
    const port = await freePort();
    const file = join(dir, `sentinel-${port}.conf`);
    await writeFile(
      file,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        `sentinel monitor ${MASTER_NAME} ${master.hostname} ${master.port} 2`,
        `sentinel down-after-milliseconds ${MASTER_NAME} 1000`,
        `sentinel failover-timeout ${MASTER_NAME} 5000`,
        `sentinel parallel-syncs ${MASTER_NAME} 1`,
      ].join('\n'),
    );
    children.push(spawn('redis-server', [file, '--sentinel'], { stdio: 'ignore' }));
    ports.push(port);
  }
  const ask = async (port: number): Promise<string | undefined> => {
    const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null });
    client.on('error', () => {});
    try {
      await client.connect();
      const [host, masterPort] = (await client.call(
        'SENTINEL',
        'get-master-addr-by-name',
        MASTER_NAME,
      )) as string[];
      return `${host}:${masterPort}`;
    } catch {
      return undefined;
    } finally {
      client.disconnect();
    }
  };
  const deadline = Date.now() + 15_000;
  while ((await Promise.all(ports.map(ask))).some((answer) => answer === undefined)) {
    if (Date.now() > deadline) throw new Error('the Sentinels did not answer within 15 s');
    await sleep(100);
  }
  return {
    url: `redis+sentinel://${ports.map((port) => `127.0.0.1:${port}`).join(',')}/${MASTER_NAME}`,
    async master() {
      return (await ask(ports[0] as number)) ?? 'unknown';
    },
    async close() {
      await Promise.all(
        children.map(async (child) => {
          if (child.exitCode !== null || child.signalCode !== null) return;
          const exited = once(child, 'exit');
          child.kill('SIGKILL');
          await exited;
        }),
      );
      await rm(dir, { recursive: true, force: true });
    },
  };
}
