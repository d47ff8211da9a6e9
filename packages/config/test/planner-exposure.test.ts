import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/index.js';

describe('pressure stream and metrics settings', () => {
  it('reads stream caps, the stream lifetime, the metrics token and cache', () => {
    const config = loadConfig({
      PRESSURE_STREAMS_PER_TOKEN: '2',
      PRESSURE_STREAMS_MAX: '3',
      PRESSURE_STREAM_MAX_AGE: '90s',
      METRICS_TOKEN: 'a-token-of-16-ch',
      METRICS_CACHE_SECONDS: '0',
    });
    expect(config).toMatchObject({
      pressureStreamsPerToken: 2,
      pressureStreamsMax: 3,
      pressureStreamMaxAgeMs: 90_000,
      metricsToken: 'a-token-of-16-ch',
      metricsCacheMs: 0,
    });
  });

  it.each([
    ['METRICS_TOKEN', 'short-token', 'at least 16 characters'],
    ['METRICS_TOKEN', 'has a space in it, 16+', 'without spaces'],
    ['METRICS_CACHE_SECONDS', '-1', 'must be 0 or more'],
    ['METRICS_CACHE_SECONDS', '301', 'at most 300'],
    ['PRESSURE_STREAMS_PER_TOKEN', '0', 'greater than 0'],
    ['PRESSURE_STREAMS_MAX', 'many', 'must be a number'],
    ['PRESSURE_STREAM_MAX_AGE', 'forever', 'must be a duration'],
  ])('refuses %s=%s, naming it and never echoing the value', (name, value, message) => {
    let error: unknown;
    try {
      loadConfig({ [name]: value });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain(name);
    expect((error as Error).message).toContain(message);
    if (name === 'METRICS_TOKEN') expect((error as Error).message).not.toContain(value);
  });
});
