import { cpus, loadavg, totalmem } from 'node:os';
import { exitWhenDone, formatLoad, progressLog, writeJson } from '@runner-planner/bench-kit';
import pg from 'pg';
import { Database, migrate } from '../src/index.js';
import { loadData } from '../src/testing-bench-data.js';
import { createScratchDatabase, serverVersion } from '../src/testing-scratch.js';
import { loadConfig } from './config.js';
import { baseline, originalWrites, ours, oursWrites } from './contenders.js';
import { createOriginalSchema, ORIGINAL_SCHEMA } from './original-schema.js';
import { buildRows, markdownTable, notes, writeMixTable } from './report.js';
import { runAddFlavor } from './scenarios/add-flavor.js';
import { runAddJob } from './scenarios/add-job.js';
import { runPressures } from './scenarios/pressures.js';
import { runWriteMix } from './scenarios/write-mix.js';

const RESULTS = new URL('./results/latest.json', import.meta.url);
const log = progressLog();

async function dataShape(pool: pg.Pool): Promise<Record<string, number>> {
  const { rows } = await pool.query<Record<string, string>>(`
    SELECT (SELECT count(*) FROM flavor) AS flavors,
           count(*) AS jobs,
           count(*) FILTER (WHERE completed_at IS NULL) AS incomplete,
           count(*) FILTER (WHERE completed_at IS NULL AND assigned_flavor IS NOT NULL) AS incomplete_assigned,
           count(*) FILTER (WHERE completed_at IS NOT NULL AND assigned_flavor IS NOT NULL) AS completed_assigned,
           pg_total_relation_size('job') AS job_bytes
    FROM job`);
  return Object.fromEntries(Object.entries(rows[0] ?? {}).map(([key, value]) => [key, Number(value)]));
}

async function main(): Promise<boolean> {
  const config = loadConfig();
  // Other work on the machine skews every figure: the load averages say how busy it was.
  const loadAtStart = loadavg();
  const scratch = await createScratchDatabase(config.adminUrl);
  const stop = (signal: NodeJS.Signals) => {
    log(`${signal}: dropping ${scratch.name}`);
    void scratch.drop().finally(() => process.exit(130));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  log(`database ${scratch.name}`);
  const pools: pg.Pool[] = [];
  let db: Database | undefined;
  try {
    await migrate(scratch.url);
    const tables = new pg.Pool({ connectionString: scratch.url, max: config.addJobCallers });
    const original = new pg.Pool({
      connectionString: scratch.url,
      max: config.addJobCallers,
      options: `-c search_path=${ORIGINAL_SCHEMA}`,
    });
    pools.push(tables, original);

    log(`loading ${config.jobs.toLocaleString('en-US')} jobs (${config.incompleteJobs} incomplete)`);
    const loader = await tables.connect();
    try {
      await loadData(loader, config);
      log('copying the data into the original schema');
      await createOriginalSchema(loader);
    } finally {
      loader.release();
    }
    const shape = await dataShape(tables);
    log(`loaded ${JSON.stringify(shape)}`);

    let rows: ReturnType<typeof buildRows> = [];
    let details: Record<string, unknown> = {};
    let markdown = '';
    if (config.scenarios.has('reads-and-inserts')) {
      // The same pool size on every side; staleness stays at its default (5 days) and counts every
      // loaded incomplete job, so all sides agree on the pressures.
      db = await Database.connect(scratch.url, { poolSize: config.addJobCallers });
      const contenders = [baseline('baseline', tables), ours(db, tables), baseline('original', original)];

      log(`getPressures: ${config.pressureIterations} calls per side and case`);
      const pressures = await runPressures(contenders, {
        iterations: config.pressureIterations,
        rounds: config.pressureRounds,
        warmup: config.pressureWarmup,
        budgetSeconds: config.pressureBudgetSeconds,
      });
      if (!pressures.agree) log('WARNING: the sides returned different pressures before timing');

      log(`addJob: ${config.addJobCount} jobs per side, ${config.addJobCallers} callers`);
      const addJob = await runAddJob(contenders, {
        count: config.addJobCount,
        rounds: config.addJobRounds,
        callers: config.addJobCallers,
        warmup: 200,
      });

      log(`addFlavor: re-assigning ${config.reassignJobs} jobs, ${config.reassignRounds} runs per side`);
      const addFlavor = await runAddFlavor(contenders, {
        jobs: config.reassignJobs,
        rounds: config.reassignRounds,
      });
      await db.close();
      db = undefined;
      rows = buildRows(pressures, addJob, addFlavor);
      markdown = markdownTable(rows, notes(pressures, addJob, addFlavor));
      details = { pressures, addJob, addFlavor };
    }
    let writeMixPass = true;
    if (config.scenarios.has('write-mix')) {
      // Pools of their own, as large as the jobs in flight (the ones above are smaller).
      await original.end();
      pools.splice(pools.indexOf(original), 1);
      db = await Database.connect(scratch.url, { poolSize: config.writeMixInFlight });
      const originalMix = new pg.Pool({
        connectionString: scratch.url,
        max: config.writeMixInFlight,
        options: `-c search_path=${ORIGINAL_SCHEMA}`,
      });
      pools.push(originalMix);
      log(`write mix: ${config.writeMixJobs} jobs per side and shape, ${config.writeMixInFlight} in flight`);
      const writeMix = await runWriteMix([oursWrites(db), originalWrites(originalMix)], {
        jobs: config.writeMixJobs,
        rounds: config.writeMixRounds,
        inFlight: config.writeMixInFlight,
        warmup: 100,
        adminUrl: scratch.url,
        database: scratch.name,
      });
      const table = writeMixTable(writeMix);
      writeMixPass = table.pass;
      markdown = [markdown, table.markdown].filter((part) => part !== '').join('\n\n');
      details = { ...details, writeMix };
    }
    markdown += `\n\n- Load average (1, 5, 15 min) at start: ${formatLoad(loadAtStart)}; at end: ${formatLoad(loadavg())}.`;
    console.log(`\n${markdown}\n`);
    await writeJson(RESULTS, {
      date: new Date().toISOString(),
      machine: {
        cpus: cpus().length,
        memoryGiB: Math.round(totalmem() / 2 ** 30),
        node: process.version,
        postgres: await serverVersion(scratch.url),
        loadAverage: { start: loadAtStart, end: loadavg() },
      },
      config: { ...config, adminUrl: undefined, scenarios: [...config.scenarios] },
      data: shape,
      rows,
      details,
      markdown,
    });
    log(`wrote ${RESULTS.pathname}`);
    return writeMixPass && rows.every((row) => row.pass);
  } finally {
    await db?.close();
    await Promise.all(pools.map((pool) => pool.end()));
    await scratch.drop();
    log(`dropped ${scratch.name}`);
  }
}

void exitWhenDone(main());
