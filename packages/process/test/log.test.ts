import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { errorText, type Log, logErrors, once, redactUrl, redactUrls } from '../src/index.js';

/** A Log that keeps every line, as a pino logger would write it. */
function memoryLog() {
  const lines: { level: string; details: object; message: string }[] = [];
  const at = (level: string) => (details: object, message: string) => {
    lines.push({ level, details, message });
  };
  const log: Log = { info: at('info'), warn: at('warn'), error: at('error') };
  return { log, lines };
}

describe('redaction', () => {
  it('hides the password of a URL, and of URLs inside a message, and nothing else', () => {
    expect(redactUrl('redis://default:s3cret@redis.internal:6379/0')).toBe(
      'redis://default:***@redis.internal:6379/0',
    );
    expect(redactUrl('redis://redis.internal:6379')).toBe('redis://redis.internal:6379');
    expect(redactUrl('postgres://planner:pa:ss@db/x')).not.toContain('pa:ss');
    expect(redactUrls('cannot connect to postgres://planner:hunter2@db:5432/rp (refused)')).toBe(
      'cannot connect to postgres://planner:***@db:5432/rp (refused)',
    );
    expect(redactUrls('job 42 of octo/repo: 401 Bad credentials')).toBe(
      'job 42 of octo/repo: 401 Bad credentials',
    );
  });

  it('tells an error by its message, its cause when it says little, redacted', () => {
    const fetchFailed = new TypeError('fetch failed', {
      cause: new Error('connect ECONNREFUSED 127.0.0.1:1'),
    });
    expect(errorText(fetchFailed)).toBe('fetch failed (connect ECONNREFUSED 127.0.0.1:1)');
    const refused = new AggregateError([new Error('connect ECONNREFUSED ::1:6379')], '');
    expect(errorText(refused)).toBe('connect ECONNREFUSED ::1:6379');
    expect(errorText(new Error('bad url redis://u:pw@h:1'))).toBe('bad url redis://u:***@h:1');
    expect(errorText('a string')).toBe('a string');
  });
});

describe('once', () => {
  it('logs a problem the first time, counts its repeats, and tells them when it is logged again', () => {
    let now = 0;
    const { log, lines } = memoryLog();
    const problems = once(log, { quietMs: 1_000, now: () => now });
    problems.tell('down', { queue: 'webhooks' }, 'Redis: connection refused');
    problems.tell('down', { queue: 'webhooks' }, 'Redis: connection refused');
    problems.tell('other', {}, 'Redis: timeout');
    now = 999;
    problems.tell('down', { queue: 'webhooks' }, 'Redis: connection refused');
    expect(lines.map((line) => line.message)).toEqual(['Redis: connection refused', 'Redis: timeout']);
    now = 1_500;
    problems.tell('down', { queue: 'webhooks' }, 'Redis: connection refused');
    expect(lines[2]).toEqual({
      level: 'warn',
      details: { queue: 'webhooks', repeatsSinceLastLogged: 2 },
      message: 'Redis: connection refused (again 2 times since it was last logged)',
    });
    expect(problems.reset()).toBe(true);
    expect(problems.reset()).toBe(false);
    problems.tell('down', {}, 'Redis: connection refused');
    expect(lines).toHaveLength(4);
  });
});

describe('logErrors', () => {
  it('keeps an error event from crashing, logs each distinct one once with its context, and the recovery', () => {
    const { log, lines } = memoryLog();
    const connection = new EventEmitter();
    const queue = new EventEmitter();
    logErrors(
      [connection, queue],
      log,
      'producer: Redis',
      { redis: 'redis://h:6379' },
      { recoveredOn: 'ready' },
    );
    connection.emit('ready');
    for (let attempt = 0; attempt < 5; attempt += 1) {
      connection.emit('error', new Error('connect ECONNREFUSED 127.0.0.1:6379'));
      // BullMQ re-emits its shared connection's errors on the queue.
      queue.emit('error', new Error('connect ECONNREFUSED 127.0.0.1:6379'));
    }
    queue.emit('error', new Error('WRONGPASS invalid username-password pair'));
    connection.emit('ready');
    connection.emit('error', new Error('connect ECONNREFUSED 127.0.0.1:6379'));
    expect(lines).toEqual([
      {
        level: 'warn',
        details: { redis: 'redis://h:6379', error: 'connect ECONNREFUSED 127.0.0.1:6379' },
        message: 'producer: Redis: connect ECONNREFUSED 127.0.0.1:6379',
      },
      {
        level: 'warn',
        details: { redis: 'redis://h:6379', error: 'WRONGPASS invalid username-password pair' },
        message: 'producer: Redis: WRONGPASS invalid username-password pair',
      },
      { level: 'info', details: { redis: 'redis://h:6379' }, message: 'producer: Redis: works again' },
      {
        level: 'warn',
        details: { redis: 'redis://h:6379', error: 'connect ECONNREFUSED 127.0.0.1:6379' },
        message: 'producer: Redis: connect ECONNREFUSED 127.0.0.1:6379',
      },
    ]);
  });
});
