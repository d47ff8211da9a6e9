// Soak (issue 6, point 4): gateway → worker → PostgreSQL at a steady rate with pressure streams
// open, memory and latency sampled over time. `pnpm test:soak` (builds first); see --help.
import { fileURLToPath } from 'node:url';
import { Cleanup } from '@runner-planner/bench-kit';
import { createScratchDatabase } from '@runner-planner/database/testing';
import { Command, InvalidArgumentError } from 'commander';
import ms from 'ms';
import { runSoak } from './soak.js';

const started = Date.now();
const log = (message: string) =>
  console.error(`[soak ${((Date.now() - started) / 1000).toFixed(1).padStart(7)} s] ${message}`);

function positiveInteger(value: string): number {
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed) || parsed <= 0)
    throw new InvalidArgumentError('must be a positive integer');
  return parsed;
}

/** `30m`, `90s`, `2h` or a number of seconds, in whole seconds. */
function seconds(value: string): number {
  const milliseconds = /^\d+$/.test(value) ? Number(value) * 1000 : ms(value as ms.StringValue);
  if (typeof milliseconds !== 'number' || !Number.isFinite(milliseconds) || milliseconds < 1000) {
    throw new InvalidArgumentError('must be a duration of at least 1 s, such as 30m, 90s or 600');
  }
  return Math.round(milliseconds / 1000);
}

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

const program = new Command('soak')
  .description(
    'Steady signed workflow_job webhooks through the built gateway and worker into PostgreSQL, with planner ' +
      'pressure streams open; samples memory, latency and backlog, then checks that nothing was lost.',
  )
  .option('--rate <events/s>', 'webhooks per second', positiveInteger, 500)
  .option('--duration <time>', 'how long to send (30m, 90s, seconds)', seconds, 30 * 60)
  .option('--sample-interval <time>', 'time between samples', seconds, 10)
  .option('--concurrency <n>', 'WORKER_CONCURRENCY of the worker', positiveInteger, 32)
  .option('--flavors <n>', 'flavors jobs are spread over (at most 20)', positiveInteger, 8)
  .option(
    '--streams <n>',
    'pressure streams held open (one for all flavors, then one per flavor)',
    positiveInteger,
    5,
  )
  .option('--drain-timeout <time>', 'longest wait for the backlog once sending stops', seconds, 600)
  .option('--poll-ms <ms>', 'visibility poll round (latency resolution)', positiveInteger, 20)
  .option('--results-dir <dir>', 'samples (JSON, CSV), summary (markdown) and SVG', here('./results'))
  .option('--chart <png>', 'the PNG chart', here('../../docs/reliability/soak.png'))
  .option('--no-chart', 'skip the chart')
  .option(
    '--database-url <url>',
    'admin URL of the PostgreSQL server the run makes its database on',
    process.env.BENCH_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres',
  );

async function main(): Promise<number> {
  // `pnpm test:soak -- --rate 100` hands the `--` on; without this it would end the options.
  const args = process.argv.slice(2);
  program.parse(args[0] === '--' ? args.slice(1) : args, { from: 'user' });
  const options = program.opts<{
    rate: number;
    duration: number;
    sampleInterval: number;
    concurrency: number;
    flavors: number;
    streams: number;
    drainTimeout: number;
    pollMs: number;
    resultsDir: string;
    chart: string | false;
    databaseUrl: string;
  }>();
  const cleanup = new Cleanup(log);
  const stop = (signal: NodeJS.Signals) => {
    log(`${signal}: stopping processes, dropping the database, deleting queue keys`);
    void cleanup.runAll().finally(() => process.exit(130));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const { summary, files } = await runSoak(
      {
        rate: options.rate,
        durationSeconds: options.duration,
        sampleIntervalSeconds: options.sampleInterval,
        workerConcurrency: options.concurrency,
        flavors: options.flavors,
        streams: options.streams,
        drainTimeoutSeconds: options.drainTimeout,
        pollMs: options.pollMs,
        resultsDir: options.resultsDir,
        chartPath: options.chart === false ? undefined : options.chart,
        createDatabase: () => createScratchDatabase(options.databaseUrl, 'soak'),
        log,
      },
      cleanup,
    );
    for (const [what, path] of Object.entries(files)) log(`${what}: ${path}`);
    const check = summary.verification;
    const healthy =
      summary.drained &&
      check.lostEvents === 0 &&
      check.wrongFinalState === 0 &&
      summary.streams.converged &&
      summary.appExits.length === 0;
    log(
      `${healthy ? 'OK' : 'FAILED'}: ${check.lostEvents} lost, ${check.wrongFinalState} jobs not completed, ` +
        `drained ${summary.drained}, streams converged ${summary.streams.converged}, app exits ${summary.appExits.length}`,
    );
    return healthy ? 0 : 1;
  } finally {
    await cleanup.runAll();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
