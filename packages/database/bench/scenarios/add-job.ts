import { performance } from 'node:perf_hooks';
import { roundOrder } from '@runner-planner/bench-kit';
import type { NewJob } from '../../src/index.js';
import { ID_BASE, matchingLabelSets, PLATFORM } from '../../src/testing-bench-data.js';
import type { Contender, Side } from '../contenders.js';

export interface AddJobOptions {
  count: number;
  rounds: number;
  callers: number;
  warmup: number;
}

export interface AddJobSegment {
  side: Side;
  round: number;
  jobs: number;
  seconds: number;
  jobsPerSecond: number;
}

export interface AddJobResult {
  callers: number;
  segments: AddJobSegment[];
  /** Per side: all its jobs over all its time. */
  jobsPerSecond: Partial<Record<Side, number>>;
}

const labelSets = matchingLabelSets();
let nextId = ID_BASE.added;

function freshJob(i: number): NewJob {
  nextId += 1;
  const labels = labelSets[i % labelSets.length] ?? [];
  return {
    platform: PLATFORM,
    id: String(nextId),
    labels,
    createdAt: new Date(),
    startedAt: null,
    completedAt: null,
    raw: { queued: { id: nextId, labels } },
  };
}

/** `count` addJob calls from `callers` concurrent loops; returns the wall time in seconds. */
async function drive(contender: Contender, count: number, callers: number): Promise<number> {
  let issued = 0;
  const caller = async () => {
    while (issued < count) {
      const i = issued++;
      await contender.addJob(freshJob(i));
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: callers }, caller));
  return (performance.now() - start) / 1000;
}

export async function runAddJob(
  contenders: readonly Contender[],
  options: AddJobOptions,
): Promise<AddJobResult> {
  for (const contender of contenders) await drive(contender, options.warmup, options.callers);
  const perRound = Math.ceil(options.count / options.rounds);
  const segments: AddJobSegment[] = [];
  for (let round = 0; round < options.rounds; round++) {
    for (const contender of roundOrder(contenders, round)) {
      const seconds = await drive(contender, perRound, options.callers);
      segments.push({
        side: contender.side,
        round,
        jobs: perRound,
        seconds,
        jobsPerSecond: perRound / seconds,
      });
    }
  }
  const jobsPerSecond: Partial<Record<Side, number>> = {};
  for (const contender of contenders) {
    const mine = segments.filter((s) => s.side === contender.side);
    const jobs = mine.reduce((sum, s) => sum + s.jobs, 0);
    const seconds = mine.reduce((sum, s) => sum + s.seconds, 0);
    jobsPerSecond[contender.side] = jobs / seconds;
  }
  return { callers: options.callers, segments, jobsPerSecond };
}
