import { performance } from 'node:perf_hooks';
import { roundOrder } from '@runner-planner/bench-kit';
import type { Flavor } from '../../src/index.js';
import { ID_BASE, loadUnassignedJobs, PLATFORM } from '../../src/testing-bench-data.js';
import type { Contender, Side } from '../contenders.js';

export interface AddFlavorOptions {
  jobs: number;
  rounds: number;
}

export interface AddFlavorRun {
  side: Side;
  round: number;
  flavor: string;
  seconds: number;
}

export interface AddFlavorResult {
  jobs: number;
  runs: AddFlavorRun[];
  /** Per side: its slowest run. */
  worstSeconds: Partial<Record<Side, number>>;
}

/**
 * Each run loads its own `jobs` unassigned incomplete jobs, labelled with a label no flavor has yet,
 * then times the addFlavor call whose flavor covers them, and checks that all of them moved.
 */
export async function runAddFlavor(
  contenders: readonly Contender[],
  options: AddFlavorOptions,
): Promise<AddFlavorResult> {
  const runs: AddFlavorRun[] = [];
  let firstId = ID_BASE.reassign;
  for (let round = 0; round < options.rounds; round++) {
    for (const contender of roundOrder(contenders, round)) {
      const name = `reassign-${round}-${contender.side}`;
      const client = await contender.pool.connect();
      try {
        await loadUnassignedJobs(client, options.jobs, name, firstId);
      } finally {
        client.release();
      }
      firstId += options.jobs;
      const flavor: Flavor = {
        platform: PLATFORM,
        name,
        labels: ['x64', 'jammy', 'large', name],
        priority: 1,
        isDisabled: false,
        minimumPressure: 0,
      };
      const start = performance.now();
      await contender.addFlavor(flavor);
      const seconds = (performance.now() - start) / 1000;
      const moved = await contender.pool.query<{ n: string }>(
        'SELECT count(*) AS n FROM job WHERE assigned_flavor = $1',
        [name],
      );
      const count = Number(moved.rows[0]?.n);
      if (count !== options.jobs) {
        throw new Error(`${contender.side}: addFlavor assigned ${count} of ${options.jobs} jobs`);
      }
      runs.push({ side: contender.side, round, flavor: name, seconds });
    }
  }
  const worstSeconds: Partial<Record<Side, number>> = {};
  for (const run of runs) worstSeconds[run.side] = Math.max(worstSeconds[run.side] ?? 0, run.seconds);
  return { jobs: options.jobs, runs, worstSeconds };
}
