import { describe, expect, it } from 'vitest';
import { loadConfig, sentinelTarget } from '../src/index.js';
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
