// The planner benchmark (issue 4): see docs/benchmarks.md, "Planner (issue 4)".
import { cpus, loadavg, totalmem } from 'node:os';
import { Cleanup, exitWhenDone, formatLoad, progressLog, writeJson } from '@runner-planner/bench-kit';
import { loadConfig as loadPlannerConfig } from '@runner-planner/config';
import { Database, migrate } from '@runner-planner/database';
import {
  createScratchDatabase,
  loadDataAt,
  openTestSql,
  serverVersion,
} from '@runner-planner/database/testing';
import { loadConfig } from './config.js';
import { runHttpBench } from './http-bench.js';
import { newAdminToken, type PlannerSettings, startPlannerProcess } from './planner-process.js';
import { httpMarkdown, streamGoals, streamsMarkdown } from './report.js';
import { runStreamsBench } from './streams-bench.js';

const RESULTS = new URL('./results/latest.json', import.meta.url);
/** Long enough that no heartbeat line lands in the measured part. */
const HEARTBEAT_SECONDS = 300;
const log = progressLog();

async function dataShape(url: string): Promise<Record<string, number>> {
  const sql = openTestSql(url, { max: 1 });
  try {
    const { rows } = await sql.query<Record<string, string>>(
      `SELECT (SELECT count(*) FROM flavor) AS flavors, count(*) AS jobs,
              count(*) FILTER (WHERE completed_at IS NULL) AS incomplete,
              pg_total_relation_size('job') AS job_bytes
       FROM job`,
    );
    return Object.fromEntries(Object.entries(rows[0] ?? {}).map(([key, value]) => [key, Number(value)]));
  } finally {
    await sql.end();
  }
}

async function main(cleanup: Cleanup): Promise<boolean> {
  const config = loadConfig();
  const loadAtStart = loadavg();
  const scratch = await createScratchDatabase(config.adminUrl);
  cleanup.add(`drop ${scratch.name}`, async () => {
    await scratch.drop();
    log(`dropped ${scratch.name}`);
  });
  log(`database ${scratch.name}`);
  await migrate(scratch.url);
  log(`loading ${config.data.jobs.toLocaleString('en-US')} jobs (${config.data.incompleteJobs} incomplete)`);
  await loadDataAt(scratch.url, config.data);
  const shape = await dataShape(scratch.url);
  log(`loaded ${JSON.stringify(shape)}`);

  const adminToken = newAdminToken();
  const settings: PlannerSettings = {
    databaseUrl: scratch.url,
    adminToken,
    queuePrefix: `bench-planner-${process.pid}`,
    heartbeatSeconds: HEARTBEAT_SECONDS,
    logLevel: config.logLevel,
  };
  // The staleness window the planner uses (its default): the baseline and the SQL loop use it too.
  const staleAfterMs = loadPlannerConfig({}).pressureStaleAfterMs;

  const db = await Database.connect(scratch.url, { poolSize: 2 });
  cleanup.add('database client', () => db.close());
  const stats = openTestSql(scratch.url, { max: 1, applicationName: 'runner-planner-bench-stats' });
  cleanup.add('stats client', () => stats.end());

  log('benchmark 1: pressure streams');
  const streamsPlanner = await startPlannerProcess('planner (streams)', settings, cleanup);
  const streams = await runStreamsBench({
    config,
    planner: streamsPlanner,
    adminToken,
    db,
    stats,
    cleanup,
    log,
  });
  await streamsPlanner.proc.stop();

  log('benchmark 2: GET /api/v1/flavors/_/pressure');
  const httpPlanner = await startPlannerProcess('planner (http)', settings, cleanup);
  const http = await runHttpBench({
    config,
    planner: httpPlanner,
    adminToken,
    databaseUrl: scratch.url,
    staleAfterMs,
    cleanup,
    log,
  });
  await httpPlanner.proc.stop();

  const loadAtEnd = loadavg();
  const goals = streamGoals(streams);
  const markdown = [
    `### Pressure streams\n\n${streamsMarkdown(streams, goals)}`,
    `### GET /api/v1/flavors/_/pressure (${http.bodyBytes} bytes)\n\n${httpMarkdown(http)}`,
    `Load average (1, 5, 15 min) at start: ${formatLoad(loadAtStart)}; at end: ${formatLoad(loadAtEnd)}.`,
  ].join('\n\n');
  console.log(`\n${markdown}\n`);
  await writeJson(RESULTS, {
    date: new Date().toISOString(),
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model,
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
      postgres: await serverVersion(scratch.url),
      loadAverage: { start: loadAtStart, end: loadAtEnd },
    },
    config: { ...config, adminUrl: undefined },
    data: shape,
    goals,
    streams,
    http,
    markdown,
  });
  log(`wrote ${RESULTS.pathname}`);
  return goals.every((goal) => goal.pass);
}

const cleanup = new Cleanup(log);
// One pass for everyone: a signal arriving while the run fails (or finishes) waits for the same cleanup.
let finishing: Promise<void> | undefined;
const finish = () => {
  finishing ??= cleanup.runAll();
  return finishing;
};
const interrupted = (signal: NodeJS.Signals) => {
  log(`${signal}: stopping processes and dropping the database`);
  // A second pass catches a step registered while the first ran.
  void finish()
    .then(() => cleanup.runAll())
    .finally(() => process.exit(130));
};
process.once('SIGINT', interrupted);
process.once('SIGTERM', interrupted);

void exitWhenDone(main(cleanup)).finally(finish);
