import { describe, expect, it } from 'vitest';
import { Cleanup, formatJson, intFromEnv, latency, quantile, roundOrder } from '../src/index.js';

describe('bench-kit', () => {
  it('interpolates quantiles between order statistics, NaN for no samples', () => {
    expect(quantile([4, 1, 3, 2], 0.5)).toBe(2.5);
    expect(quantile([1, 2, 3, 4, 5], 0.99)).toBeCloseTo(4.96);
    expect(latency([])).toEqual({ samples: 0, p50Ms: Number.NaN, p99Ms: Number.NaN, maxMs: Number.NaN });
  });

  it('alternates the contenders round by round', () => {
    expect([0, 1, 2].map((round) => roundOrder(['a', 'b'], round))).toEqual([
      ['a', 'b'],
      ['b', 'a'],
      ['a', 'b'],
    ]);
  });

  it('runs cleanup steps last in first out, each once, past a failing one', async () => {
    const ran: string[] = [];
    const logged: string[] = [];
    const cleanup = new Cleanup((message) => logged.push(message));
    cleanup.add('first', async () => ran.push('first'));
    const second = cleanup.add('second', async () => {
      throw new Error('boom');
    });
    cleanup.add('third', async () => ran.push('third'));
    await second();
    await cleanup.runAll();
    await cleanup.runAll();
    expect(ran).toEqual(['third', 'first']);
    expect(logged).toEqual(['cleanup "second" failed: boom']);
  });

  it('reads integer knobs and refuses what is below the minimum', () => {
    process.env.BENCH_KIT_TEST = '0';
    try {
      expect(intFromEnv('BENCH_KIT_TEST', 5, 0)).toBe(0);
      expect(() => intFromEnv('BENCH_KIT_TEST', 5)).toThrow('BENCH_KIT_TEST must be an integer ≥ 1, got "0"');
      expect(intFromEnv('BENCH_KIT_UNSET', 5)).toBe(5);
    } finally {
      delete process.env.BENCH_KIT_TEST;
    }
  });

  it('keeps short arrays on one line in results files', () => {
    expect(formatJson({ load: [0.5, 1], name: 'x' })).toBe('{\n  "load": [0.5, 1],\n  "name": "x"\n}\n');
  });
});
