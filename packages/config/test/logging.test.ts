import { existsSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, logFormat, pinoOptions } from '../src/index.js';
import { problemsOf } from './problems.js';

describe('logFormat', () => {
  it('is pretty on a terminal and JSON elsewhere when LOG_FORMAT is not set', () => {
    expect(logFormat(undefined, true)).toBe('pretty');
    expect(logFormat(undefined, false)).toBe('json');
  });

  it('is what LOG_FORMAT says, terminal or not', () => {
    expect(logFormat('json', true)).toBe('json');
    expect(logFormat('pretty', false)).toBe('pretty');
  });
});

describe('LOG_FORMAT', () => {
  it('is read as json or pretty, and unset by default', () => {
    expect(loadConfig({}).logFormat).toBeUndefined();
    expect(loadConfig({ LOG_FORMAT: 'json' }).logFormat).toBe('json');
    expect(loadConfig({ LOG_FORMAT: 'pretty' }).logFormat).toBe('pretty');
    // Empty means unset, as for every variable.
    expect(loadConfig({ LOG_FORMAT: '' }).logFormat).toBeUndefined();
  });

  it('refuses any other value, naming the variable and the choices', () => {
    const message = problemsOf({ LOG_FORMAT: 'text' });
    expect(message).toContain('LOG_FORMAT');
    expect(message).toContain('json, pretty');
  });
});

describe('pinoOptions', () => {
  it('gives JSON (no transport) at the configured level off a terminal', () => {
    const config = loadConfig({ LOG_LEVEL: 'warn' });
    expect(pinoOptions(config, false)).toEqual({ level: 'warn' });
    expect(pinoOptions(loadConfig({ LOG_FORMAT: 'json' }), true)).toEqual({ level: 'info' });
  });

  it('gives pino-pretty by absolute path on a terminal, coloured', () => {
    const options = pinoOptions(loadConfig({ LOG_LEVEL: 'debug' }), true);
    expect(options.level).toBe('debug');
    const target = options.transport?.target ?? '';
    expect(isAbsolute(target) && existsSync(target)).toBe(true);
    expect(target).toContain('pino-pretty');
    expect(options.transport?.options.colorize).toBe(true);
  });

  it('gives uncoloured pino-pretty when LOG_FORMAT=pretty writes to a pipe or file', () => {
    const options = pinoOptions(loadConfig({ LOG_FORMAT: 'pretty' }), false);
    expect(options.transport?.options.colorize).toBe(false);
  });
});
