import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { freePort } from '../src/ports.js';
import { pingRedis, resolveRedis } from '../src/redis.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

it('uses a Redis that answers', async () => {
  const redis = await resolveRedis('/nonexistent', () => {});
  expect(redis.started).toBe(false);
});

it('starts redis-server with append-only data under .data/redis when none answers', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'rp-cli-redis-'));
  dirs.push(dir);
  const lines: string[] = [];
  const redis = await resolveRedis(dir, (line) => lines.push(line), {
    localUrl: `redis://127.0.0.1:${await freePort()}`,
  });
  try {
    expect(redis.started).toBe(true);
    expect(await pingRedis(redis.url)).toBe(true);
    expect(lines.join('\n')).toContain('started redis-server');
    expect((await stat(join(dir, 'redis'))).isDirectory()).toBe(true);
  } finally {
    await redis.stop();
  }
  expect(await pingRedis(redis.url)).toBe(false);
});
