import { describe, expect, it } from 'vitest';
import { clusterTarget, loadConfig, sentinelTarget } from '../src/index.js';
import { problemsOf } from './problems.js';

describe('sentinelTarget', () => {
  it('reads the Sentinels, the master name, passwords and the database', () => {
    expect(
      sentinelTarget(
        'redis+sentinel://:s%40cret@10.0.0.1:26379,sentinel-b,[::1]:26380/queue-master/2?sentinelPassword=watch',
      ),
    ).toEqual({
      sentinels: [
        { host: '10.0.0.1', port: 26379 },
        { host: 'sentinel-b', port: 26379 },
        { host: '::1', port: 26380 },
      ],
      name: 'queue-master',
      password: 's@cret',
      sentinelPassword: 'watch',
      db: 2,
    });
    expect(sentinelTarget('redis+sentinel://127.0.0.1:26379/mymaster')).toEqual({
      sentinels: [{ host: '127.0.0.1', port: 26379 }],
      name: 'mymaster',
    });
  });

  it('leaves other URLs alone, and says what a malformed one lacks', () => {
    expect(sentinelTarget('redis://127.0.0.1:6379')).toBeUndefined();
    expect(() => sentinelTarget('redis+sentinel://127.0.0.1:26379')).toThrow('<master name>');
    expect(() => sentinelTarget('redis+sentinel://a:b:c/m')).toThrow('"a:b:c" is not host:port');
  });

  it('is accepted as REDIS_URL, and a malformed one refused with the form it must have', () => {
    expect(loadConfig({ REDIS_URL: 'redis+sentinel://127.0.0.1:26379/mymaster' }).redisUrl).toBe(
      'redis+sentinel://127.0.0.1:26379/mymaster',
    );
    expect(problemsOf({ REDIS_URL: 'redis+sentinel://127.0.0.1:26379' })).toContain(
      'REDIS_URL: must look like redis+sentinel://',
    );
    expect(problemsOf({ REDIS_URL: 'memcached://x' })).toContain(
      'REDIS_URL: must be a URL (redis://host:6379',
    );
  });
});

describe('clusterTarget', () => {
  it('reads the seed nodes, the credentials and TLS', () => {
    expect(clusterTarget('redis+cluster://app:s%40cret@10.0.0.1:7000,node-b,[::1]:7001')).toEqual({
      nodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: 'node-b', port: 6379 },
        { host: '::1', port: 7001 },
      ],
      username: 'app',
      password: 's@cret',
      tls: false,
    });
    expect(clusterTarget('rediss+cluster://:pw@redis.example:6380')).toEqual({
      nodes: [{ host: 'redis.example', port: 6380 }],
      password: 'pw',
      tls: true,
    });
  });

  it('leaves other URLs alone, and refuses a database or a malformed node', () => {
    expect(clusterTarget('redis://127.0.0.1:6379')).toBeUndefined();
    expect(clusterTarget('redis+sentinel://127.0.0.1:26379/m')).toBeUndefined();
    expect(() => clusterTarget('redis+cluster://127.0.0.1:7000/2')).toThrow(
      'must look like redis+cluster://',
    );
    expect(() => clusterTarget('redis+cluster://a:b:c')).toThrow('"a:b:c" is not host:port');
  });

  it('is accepted as REDIS_URL, and a malformed one refused with the form it must have', () => {
    expect(loadConfig({ REDIS_URL: 'redis+cluster://127.0.0.1:7000,127.0.0.1:7001' }).redisUrl).toBe(
      'redis+cluster://127.0.0.1:7000,127.0.0.1:7001',
    );
    expect(problemsOf({ REDIS_URL: 'redis+cluster://127.0.0.1:7000/0' })).toContain(
      'REDIS_URL: must look like redis+cluster://',
    );
  });

  it('needs a QUEUE_PREFIX with a hash tag, so that a queue stays on one node', () => {
    expect(problemsOf({ REDIS_URL: 'redis+cluster://127.0.0.1:7000', QUEUE_PREFIX: 'rp' })).toContain(
      'QUEUE_PREFIX: must start with a {hash tag} when REDIS_URL is a Redis Cluster',
    );
    expect(
      loadConfig({ REDIS_URL: 'redis+cluster://127.0.0.1:7000', QUEUE_PREFIX: '{rp}' }).queuePrefix,
    ).toBe('{rp}');
    expect(loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379', QUEUE_PREFIX: 'rp' }).queuePrefix).toBe('rp');
  });
});
