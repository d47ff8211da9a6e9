import { performance } from 'node:perf_hooks';
import { pidsOf, probeCpu, roundOrder } from '@runner-planner/bench-kit';
import { benchFlavors, ID_BASE, PLATFORM } from '../../src/testing-bench-data.js';
import { mergeWaits, sampleWaits, type WaitSamples } from '../../src/testing-waits.js';
import type { Side, WriteContender } from '../contenders.js';

/**
 * The write path a worker drives: per job, addJob → updateJobStarted → updateJobCompleted, each
 * with a workflow_job payload of about 6 KB, `inFlight` jobs at a time. `hot` sends every job to
 * one flavor (most organisations: one or two busy flavors); `spread` over all 100.
 */
export type Shape = 'hot' | 'spread';

export interface WriteMixOptions {
  jobs: number;
  rounds: number;
  inFlight: number;
  warmup: number;
  /** Where to sample pg_stat_activity, and which database to sample. */
  adminUrl: string;
  database: string;
}

export interface WriteMixSegment {
  side: Side;
  shape: Shape;
  round: number;
  jobs: number;
  seconds: number;
  jobsPerSecond: number;
  /** CPU milliseconds per job: this process (the client side) and every PostgreSQL process. */
  cpuMsPerJob: { client: number; postgres: number };
}

export interface WriteMixResult {
  inFlight: number;
  payloadBytes: number;
  segments: WriteMixSegment[];
  /** `side/shape` → all its jobs over all its time. */
  jobsPerSecond: Record<string, number>;
  /** `side/shape` → CPU milliseconds per job, over all its segments. */
  cpuMsPerJob: Record<string, { client: number; postgres: number }>;
  /** `side/shape` → what PostgreSQL's backends waited on meanwhile. */
  waits: Record<string, WaitSamples>;
}

const HOT_LABELS = ['x64', 'jammy', 'large', 'gpu'];
// A flavor's full label set is covered by that flavor alone: each job lands on a known flavor.
const SPREAD_LABELS = benchFlavors().map((flavor) => flavor.labels);

const STEPS = 25;

/** A workflow_job-shaped payload of about 6 KB (a real one is 5 to 8 KB: examples in test/fixtures). */
export function eventPayload(id: number, action: string, labels: string[]): Record<string, unknown> {
  const at = new Date().toISOString();
  return {
    action,
    workflow_job: {
      id,
      run_id: Math.floor(id / 3),
      workflow_name: 'CI',
      head_branch: 'main',
      run_url: `https://api.github.com/repos/octo-org/octo-repo/actions/runs/${Math.floor(id / 3)}`,
      html_url: `https://github.com/octo-org/octo-repo/actions/runs/${Math.floor(id / 3)}/job/${id}`,
      head_sha: 'f0d5ac8b046194634c65758630e8cea82b180db3',
      status: action,
      conclusion: action === 'completed' ? 'success' : null,
      created_at: at,
      labels,
      runner_name: action === 'queued' ? null : `runner-${id % 97}`,
      steps: Array.from({ length: action === 'queued' ? 0 : STEPS }, (_, number) => ({
        name: `Step ${number + 1}: run the part of the build that step ${number + 1} runs`,
        status: 'completed',
        conclusion: 'success',
        number: number + 1,
        started_at: at,
        completed_at: at,
      })),
    },
    repository: {
      id: 186_853_002,
      full_name: 'octo-org/octo-repo',
      private: false,
      owner: { login: 'octo-org', id: 6_811_672, type: 'Organization' },
      description: 'A repository whose jobs the benchmark writes'.repeat(action === 'queued' ? 115 : 10),
    },
    sender: { login: 'octocat', id: 583_231, type: 'User' },
  };
}

let nextId: number = ID_BASE.writeMix;

async function oneJob(contender: WriteContender, labels: string[]): Promise<void> {
  nextId += 1;
  const id = nextId;
  const key = String(id);
  const createdAt = new Date();
  await contender.addJob({
    platform: PLATFORM,
    id: key,
    labels,
    createdAt,
    startedAt: null,
    completedAt: null,
    raw: { queued: eventPayload(id, 'queued', labels) },
  });
  await contender.updateJobStarted(PLATFORM, key, new Date(), {
    in_progress: eventPayload(id, 'in_progress', labels),
  });
  await contender.updateJobCompleted(PLATFORM, key, new Date(), {
    completed: eventPayload(id, 'completed', labels),
  });
}

async function drive(
  contender: WriteContender,
  shape: Shape,
  jobs: number,
  inFlight: number,
): Promise<number> {
  let issued = 0;
  const lane = async () => {
    while (issued < jobs) {
      const i = issued++;
      await oneJob(contender, shape === 'hot' ? HOT_LABELS : (SPREAD_LABELS[i % SPREAD_LABELS.length] ?? []));
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: inFlight }, lane));
  return (performance.now() - start) / 1000;
}

export async function runWriteMix(
  contenders: readonly WriteContender[],
  options: WriteMixOptions,
): Promise<WriteMixResult> {
  const cases = contenders.flatMap((contender) =>
    (['hot', 'spread'] as const).map((shape) => ({ contender, shape, key: `${contender.side}/${shape}` })),
  );
  for (const { contender, shape } of cases) await drive(contender, shape, options.warmup, options.inFlight);
  const perRound = Math.ceil(options.jobs / options.rounds);
  const segments: WriteMixSegment[] = [];
  const samples: Record<string, WaitSamples[]> = {};
  for (let round = 0; round < options.rounds; round++) {
    for (const { contender, shape, key } of roundOrder(cases, round)) {
      const sampler = await sampleWaits(options.adminUrl, options.database);
      const cpu = await probeCpu({ client: async () => [process.pid], postgres: () => pidsOf('postgres') });
      const seconds = await drive(contender, shape, perRound, options.inFlight);
      const { cores } = await cpu.stop();
      samples[key] = [...(samples[key] ?? []), await sampler.stop()];
      const perJob = (name: string) => ((cores[name] ?? 0) * seconds * 1000) / perRound;
      segments.push({
        cpuMsPerJob: { client: perJob('client'), postgres: perJob('postgres') },
        side: contender.side,
        shape,
        round,
        jobs: perRound,
        seconds,
        jobsPerSecond: perRound / seconds,
      });
    }
  }
  const jobsPerSecond: Record<string, number> = {};
  const waits: Record<string, WaitSamples> = {};
  const cpuMsPerJob: Record<string, { client: number; postgres: number }> = {};
  for (const { contender, shape, key } of cases) {
    const mine = segments.filter((s) => s.side === contender.side && s.shape === shape);
    const jobs = mine.reduce((sum, s) => sum + s.jobs, 0);
    const seconds = mine.reduce((sum, s) => sum + s.seconds, 0);
    jobsPerSecond[key] = jobs / seconds;
    const mean = (pick: (s: WriteMixSegment) => number) =>
      mine.reduce((sum, s) => sum + pick(s) * s.jobs, 0) / jobs;
    cpuMsPerJob[key] = {
      client: mean((s) => s.cpuMsPerJob.client),
      postgres: mean((s) => s.cpuMsPerJob.postgres),
    };
    waits[key] = mergeWaits(samples[key] ?? []);
  }
  const payloadBytes = JSON.stringify(eventPayload(ID_BASE.writeMix, 'in_progress', HOT_LABELS)).length;
  return { inFlight: options.inFlight, payloadBytes, segments, jobsPerSecond, cpuMsPerJob, waits };
}
