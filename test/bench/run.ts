// Ingestion benchmarks (issue 3): gateway, worker and end to end, against the built apps.
// `pnpm --filter @runner-planner/e2e bench` (builds first). See docs/benchmarks.md.

import { availableParallelism, loadavg, totalmem } from 'node:os';
import { Cleanup, exitWhenDone, formatLoad, progressLog, writeJson } from '@runner-planner/bench-kit';
import { serverVersion } from '@runner-planner/database/testing';
import { TEST_REDIS_URL } from '@runner-planner/testkit';
import { type BenchName, loadConfig } from './config.js';
import { runE2eBench } from './e2e-bench.js';
import { runE2eCeiling } from './e2e-ceiling.js';
import { runGatewayBench } from './gateway-bench.js';
import { redisVersion } from './redis-stats.js';
import { runReplicaAcksBench } from './replica-acks-bench.js';
import {
  e2eCeilingTable,
  e2eTable,
  gatewayTable,
  markdown,
  replicaAcksTable,
  type Table,
  workerTable,
} from './report.js';
import { runWorkerBench } from './worker-bench.js';

const RESULTS = new URL('./results/latest.json', import.meta.url);
const log = progressLog();

async function main(): Promise<boolean> {
  const config = loadConfig();
  const cleanup = new Cleanup(log);
  const stop = (signal: NodeJS.Signals) => {
    log(`${signal}: stopping processes, dropping databases, deleting queue keys`);
    void cleanup.runAll().finally(() => process.exit(130));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);

  // Other work on the machine skews every figure: the load averages say how busy it was.
  const loadAtStart = loadavg();
  const machine = {
    cpus: availableParallelism(),
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    postgres: await serverVersion(config.adminUrl),
    redis: await redisVersion(TEST_REDIS_URL),
  };
  log(`machine: ${JSON.stringify(machine)}; load average ${formatLoad(loadAtStart)}`);
  const results: Partial<Record<BenchName, unknown>> = {};
  const tables: Table[] = [];
  try {
    for (const name of config.only) {
      try {
        if (name === 'gateway') {
          const result = await runGatewayBench(config, cleanup, log);
          results.gateway = result;
          tables.push(gatewayTable(result));
        } else if (name === 'replica-acks') {
          const result = await runReplicaAcksBench(config, cleanup, log);
          results['replica-acks'] = result;
          tables.push(replicaAcksTable(result));
        } else if (name === 'worker') {
          const result = await runWorkerBench(config, cleanup, log);
          results.worker = result;
          tables.push(workerTable(result));
        } else if (name === 'e2e') {
          const result = await runE2eBench(config, cleanup, log);
          results.e2e = result;
          tables.push(e2eTable(result));
        } else {
          const result = await runE2eCeiling(config, cleanup, log);
          results['e2e-ceiling'] = result;
          tables.push(e2eCeilingTable(result));
        }
      } finally {
        // Each benchmark leaves nothing running behind it, so the next has the machine to itself.
        await cleanup.runAll();
      }
    }
  } finally {
    await cleanup.runAll();
  }
  const loadAtEnd = loadavg();
  const machineLine =
    `${machine.cpus} cores (nproc), ${machine.memoryGiB} GiB, Node ${machine.node}, PostgreSQL ${machine.postgres}, ` +
    `Redis ${machine.redis}; load average (1, 5, 15 min) at start ${formatLoad(loadAtStart)}, at end ${formatLoad(loadAtEnd)}.`;
  const text = [machineLine, ...tables.map(markdown)].join('\n\n');
  console.log(`\n${text}\n`);
  await writeJson(RESULTS, {
    date: new Date().toISOString(),
    machine: { ...machine, loadAverage: { start: loadAtStart, end: loadAtEnd } },
    config,
    results,
    tables,
    markdown: text,
  });
  log(`wrote ${RESULTS.pathname}`);
  return tables.every((table) => table.rows.every((row) => row.pass !== false));
}

void exitWhenDone(main());
