import { performance } from 'node:perf_hooks';
import { type Latency, latency, quantile, roundOrder } from '@runner-planner/bench-kit';
import { Bench } from 'tinybench';
import { PLATFORM } from '../../src/testing-bench-data.js';
import type { Contender, Side } from '../contenders.js';

export interface PressureOptions {
  iterations: number;
  rounds: number;
  warmup: number;
  /** Seconds per contender and case; a slow side gets fewer calls (never under 25 a round). */
  budgetSeconds: number;
}

const PROBES = 5;
const MIN_CALLS_PER_ROUND = 25;

export interface PressureResult {
  /** The flavor read by the one-flavor case: the one with the most incomplete jobs. */
  flavor: string;
  /** Whether every contender returned the same pressures before timing. */
  agree: boolean;
  all: Partial<Record<Side, Latency>>;
  one: Partial<Record<Side, Latency>>;
}

/** Calls per round for one contender: all of them, or as many as fit in the time budget. */
async function callsPerRound(call: () => Promise<unknown>, options: PressureOptions): Promise<number> {
  const perRound = Math.ceil(options.iterations / options.rounds);
  const probes: number[] = [];
  for (let i = 0; i < PROBES; i++) {
    const start = performance.now();
    await call();
    probes.push(performance.now() - start);
  }
  const budgetMs = (options.budgetSeconds * 1000) / options.rounds;
  return Math.max(MIN_CALLS_PER_ROUND, Math.min(perRound, Math.floor(budgetMs / quantile(probes, 0.5))));
}

async function latencies(
  contenders: readonly Contender[],
  call: (contender: Contender) => Promise<unknown>,
  options: PressureOptions,
): Promise<Partial<Record<Side, Latency>>> {
  const samples = new Map<Side, number[]>();
  const calls = new Map<Side, number>();
  for (const contender of contenders) {
    samples.set(contender.side, []);
    calls.set(contender.side, await callsPerRound(() => call(contender), options));
  }
  for (let round = 0; round < options.rounds; round++) {
    for (const contender of roundOrder(contenders, round)) {
      const iterations = calls.get(contender.side) ?? MIN_CALLS_PER_ROUND;
      const bench = new Bench({
        iterations,
        time: 0,
        warmupIterations: Math.min(options.warmup, Math.ceil(iterations / 10)),
        warmupTime: 0,
        retainSamples: true,
        throws: true,
      });
      bench.add(contender.side, () => call(contender).then(() => undefined));
      const [task] = await bench.run();
      const result = task?.result;
      if (result?.state !== 'completed') throw new Error(`${contender.side}: ${result?.state}`);
      samples.get(contender.side)?.push(...(result.latency.samples ?? []));
    }
  }
  const summaries: Partial<Record<Side, Latency>> = {};
  for (const [side, values] of samples) summaries[side] = latency(values);
  return summaries;
}

function sameEntries(a: Record<string, number>, b: Record<string, number>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => a[key] === b[key]);
}

export async function runPressures(
  contenders: readonly Contender[],
  options: PressureOptions,
): Promise<PressureResult> {
  const answers = await Promise.all(contenders.map((c) => c.getPressures(PLATFORM)));
  const [first = {}] = answers;
  const agree = answers.every((answer) => sameEntries(first, answer));
  const flavor = Object.entries(first).sort((a, b) => b[1] - a[1])[0]?.[0];
  if (flavor === undefined) throw new Error('no flavor has a pressure');
  return {
    flavor,
    agree,
    all: await latencies(contenders, (c) => c.getPressures(PLATFORM), options),
    one: await latencies(contenders, (c) => c.getPressures(PLATFORM, flavor), options),
  };
}
