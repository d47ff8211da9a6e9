// Benchmark 2: GET /api/v1/flavors/_/pressure on the planner vs a bare node:http + pg server
// running the same SQL, both loaded by autocannon from its own process; plus the SQL alone.
import { type Cleanup, type CpuUsage, pidsOf, probeCpu, roundOrder } from '@runner-planner/bench-kit';
import type { PlannerBenchConfig } from './config.js';
import type { AutocannonInput, AutocannonOutput } from './load-autocannon.js';
import type { PlannerUnderTest } from './planner-process.js';
import {
  type BenchProcess,
  freePort,
  Inbox,
  profileArgs,
  spawnNode,
  tsArgs,
  waitHealthy,
} from './processes.js';
import { runSqlLoop, type SqlLoopResult } from './sql-loop.js';

const PATH = '/api/v1/flavors/_/pressure';
/** The planner's database pool (the ORM's default); the baseline and the SQL loop get the same. */
export const PLANNER_POOL_SIZE = 10;

export type Side = 'planner' | 'baseline';

export interface HttpRun {
  side: Side;
  connections: number;
  round: number;
  result: AutocannonOutput;
  cpu: CpuUsage;
}

export interface SideSummary {
  /** 2xx over all rounds ÷ their total seconds. */
  okPerSecond: number;
  /** Mean of the rounds' p50; highest of the rounds' p99. */
  p50Ms: number;
  p99Ms: number;
  failures: number;
  /** Mean CPU cores of the server process and of PostgreSQL over the rounds. */
  serverCores: number;
  postgresCores: number;
}

export interface HttpLevel {
  connections: number;
  planner: SideSummary;
  baseline: SideSummary;
  sql: SqlLoopResult;
}

export interface HttpResult {
  bodyBytes: number;
  levels: HttpLevel[];
  runs: HttpRun[];
}

export interface HttpContext {
  config: PlannerBenchConfig;
  planner: PlannerUnderTest;
  adminToken: string;
  databaseUrl: string;
  staleAfterMs: number;
  cleanup: Cleanup;
  log: (message: string) => void;
}

type LoadMessage = { type: 'measuring' } | { type: 'result'; result: AutocannonOutput };

async function startBaseline(context: HttpContext): Promise<{ proc: BenchProcess; url: string }> {
  const port = await freePort();
  const proc = spawnNode(
    'baseline server',
    [...profileArgs(), ...tsArgs('baseline-server.ts')],
    {
      env: {
        DATABASE_URL: context.databaseUrl,
        PORT: String(port),
        TOKEN: context.adminToken,
        STALE_AFTER_MS: String(context.staleAfterMs),
        POOL_SIZE: String(PLANNER_POOL_SIZE),
      },
    },
    context.cleanup,
  );
  const url = `http://127.0.0.1:${port}`;
  await waitHealthy(proc, `${url}/health`);
  return { proc, url };
}

/** Both servers must give the same answer, byte for byte, before anything is timed. */
async function sameAnswer(urls: string[], token: string): Promise<number> {
  const bodies = await Promise.all(
    urls.map(async (url) => {
      const response = await fetch(`${url}${PATH}`, { headers: { authorization: `Bearer ${token}` } });
      if (response.status !== 200) throw new Error(`${url}${PATH} answered ${response.status}`);
      return response.text();
    }),
  );
  if (new Set(bodies).size !== 1)
    throw new Error(`the planner and the baseline answer differently:\n${bodies.join('\n')}`);
  return bodies[0]?.length ?? 0;
}

async function load(
  context: HttpContext,
  input: AutocannonInput,
  server: BenchProcess,
): Promise<{ result: AutocannonOutput; cpu: CpuUsage }> {
  const proc = spawnNode(
    'autocannon',
    tsArgs('load-autocannon.ts', [JSON.stringify(input)]),
    { ipc: true, env: {} },
    context.cleanup,
  );
  try {
    const inbox = new Inbox<LoadMessage>(proc);
    await inbox.next('measuring', (input.warmupSeconds + 60) * 1000);
    const probe = await probeCpu({
      server: async () => [server.pid],
      postgres: () => pidsOf('postgres'),
      autocannon: async () => [proc.pid],
    });
    const { result } = await inbox.next('result', (input.seconds + 60) * 1000);
    return { result, cpu: await probe.stop() };
  } finally {
    await proc.stop();
  }
}

function summarize(runs: HttpRun[]): SideSummary {
  const mean = (values: number[]) => values.reduce((sum, n) => sum + n, 0) / Math.max(values.length, 1);
  return {
    okPerSecond:
      runs.reduce((sum, run) => sum + run.result.ok, 0) /
      runs.reduce((sum, run) => sum + run.result.seconds, 0),
    p50Ms: mean(runs.map((run) => run.result.latency.p50Ms)),
    p99Ms: Math.max(...runs.map((run) => run.result.latency.p99Ms)),
    failures: runs.reduce((sum, run) => sum + run.result.non2xx + run.result.errors + run.result.timeouts, 0),
    serverCores: mean(runs.map((run) => run.cpu.cores.server ?? Number.NaN)),
    postgresCores: mean(runs.map((run) => run.cpu.cores.postgres ?? Number.NaN)),
  };
}

export async function runHttpBench(context: HttpContext): Promise<HttpResult> {
  const { config, planner, log } = context;
  const baseline = await startBaseline(context);
  try {
    const bodyBytes = await sameAnswer([planner.url, baseline.url], context.adminToken);
    const servers: Record<Side, { url: string; proc: BenchProcess }> = {
      planner: { url: planner.url, proc: planner.proc },
      baseline,
    };
    const runs: HttpRun[] = [];
    const levels: HttpLevel[] = [];
    let turn = 0;
    for (const connections of config.httpConnections) {
      for (let round = 0; round < config.httpRounds; round++) {
        for (const side of roundOrder<Side>(['planner', 'baseline'], turn++)) {
          const server = servers[side];
          log(`autocannon: ${side}, ${connections} connections, round ${round + 1}`);
          const input: AutocannonInput = {
            url: `${server.url}${PATH}`,
            token: context.adminToken,
            connections,
            seconds: config.httpSeconds,
            warmupSeconds: config.httpWarmupSeconds,
          };
          const { result, cpu } = await load(context, input, server.proc);
          log(
            `  ${result.okPerSecond.toFixed(0)} req/s, p50 ${result.latency.p50Ms} ms, p99 ${result.latency.p99Ms} ms` +
              `, failures ${result.non2xx + result.errors + result.timeouts}`,
          );
          runs.push({ side, connections, round, result, cpu });
        }
      }
      log(`SQL loop: ${connections} callers, pool of ${PLANNER_POOL_SIZE}`);
      const sql = await runSqlLoop({
        url: context.databaseUrl,
        poolSize: PLANNER_POOL_SIZE,
        concurrency: connections,
        seconds: config.sqlSeconds,
        warmupSeconds: 2,
        staleAfterMs: context.staleAfterMs,
      });
      log(`  ${sql.operationsPerSecond.toFixed(0)} ops/s (${sql.queriesPerSecond.toFixed(0)} queries/s)`);
      const of = (side: Side) => runs.filter((run) => run.side === side && run.connections === connections);
      levels.push({
        connections,
        planner: summarize(of('planner')),
        baseline: summarize(of('baseline')),
        sql,
      });
    }
    return { bodyBytes, levels, runs };
  } finally {
    await baseline.proc.stop();
  }
}
