import type { Queue } from 'bullmq';
import type { Command } from 'commander';
import { CliError, databaseUrl, printJson, printTable, queueSettings, withDatabase } from '../context.js';
import { migrate, waitingReport } from '../deferred.js';
import { progress } from '../progress.js';
import { integer } from './admin.js';

export function registerMigrate(program: Command): void {
  program
    .command('migrate')
    .description('create or update the database schema (idempotent)')
    .action(async () => {
      await migrate(await databaseUrl());
      process.stdout.write('database schema is up to date\n');
    });
}

async function withQueue<T>(work: (queue: Queue) => Promise<T>): Promise<T> {
  const { redisUrl, prefix } = await queueSettings();
  const [{ closeQueuesAndConnection, WEBHOOK_QUEUE, workerConnection }, { Queue }] = await Promise.all([
    import('@runner-planner/queue'),
    import('bullmq'),
  ]);
  const connection = workerConnection(redisUrl, { maxRetriesPerRequest: 1, connectTimeout: 3_000 });
  // A Redis that cannot be reached is told once, as the ping's failure below, and the command
  // exits 1; without listeners each reconnect attempt's 'error' event would crash it instead.
  connection.on('error', () => {});
  const queue = new Queue(WEBHOOK_QUEUE, { connection, prefix });
  queue.on('error', () => {});
  try {
    await connection.ping().catch((error: Error) => {
      throw new CliError(`cannot reach Redis at ${redisUrl}: ${error.message}`);
    });
    return await work(queue);
  } finally {
    await closeQueuesAndConnection([queue], connection);
  }
}

export function registerDlq(program: Command): void {
  const dlq = program.command('dlq').description('dead-lettered (failed) webhook deliveries');
  dlq
    .command('list')
    .description('failed jobs of the webhooks queue')
    .option('--limit <n>', 'at most this many', integer('--limit', 1), 1000)
    .option('--json', 'print JSON')
    .action(async (options) => {
      await withQueue(async (queue) => {
        const jobs = await queue.getFailed(0, options.limit - 1);
        const rows = jobs.map((job) => ({
          id: job.id ?? '',
          platform: (job.data as { platform?: string }).platform ?? '',
          event: (job.data as { event?: string }).event ?? '',
          attempts: job.attemptsMade,
          failed_at: job.finishedOn ? new Date(job.finishedOn).toISOString() : null,
          reason: job.failedReason,
        }));
        if (options.json) return printJson(rows);
        printTable(
          ['ID', 'PLATFORM', 'EVENT', 'ATTEMPTS', 'FAILED AT', 'REASON'],
          rows.map((row) => [
            row.id,
            row.platform,
            row.event,
            String(row.attempts),
            row.failed_at ?? '-',
            row.reason,
          ]),
        );
      });
    });
  dlq
    .command('replay [ids...]')
    .description('retry failed jobs: the given ids, or all of them')
    .option('--json', 'print {replayed, missing} as JSON')
    .action(async (ids: string[], options) => {
      await withQueue(async (queue) => {
        const failed = await queue.getFailed(0, -1);
        const wanted = ids.length > 0 ? failed.filter((job) => ids.includes(job.id ?? '')) : failed;
        const missing = ids.filter((id) => !failed.some((job) => job.id === id));
        const bar = progress('replaying', wanted.length);
        let replayed = 0;
        for (const job of wanted) {
          await job.retry('failed');
          replayed++;
          bar.tick();
        }
        bar.stop();
        if (options.json) printJson({ replayed, missing });
        else process.stdout.write(`replayed ${replayed} failed job(s)\n`);
        if (missing.length > 0) {
          throw new CliError(`not in the dead-letter queue: ${missing.join(', ')}`);
        }
      });
    });
}

function date(name: string) {
  return (value: string) => {
    const parsed = new Date(/^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value);
    if (Number.isNaN(parsed.getTime())) throw new CliError(`${name} must be a date such as 2026-01-31`);
    return parsed;
  };
}

export function registerReport(program: Command): void {
  const report = program.command('report').description('reports over recorded jobs');
  report
    .command('waiting')
    .description(
      'CSV per UTC day and platform of the time jobs waited for a runner (created → started), ' +
        'for jobs started in [--from, --to) that were assigned a flavor',
    )
    .requiredOption('--from <date>', 'first day (YYYY-MM-DD, UTC) or an ISO time', date('--from'))
    .requiredOption('--to <date>', 'end, exclusive (YYYY-MM-DD, UTC) or an ISO time', date('--to'))
    .option('--percentile <p>', 'percentile of waiting seconds, 1-100', integer('--percentile', 1), 80)
    .action(async (options: { from: Date; to: Date; percentile: number }) => {
      if (options.percentile > 100) throw new CliError('--percentile must be between 1 and 100');
      if (options.to <= options.from) throw new CliError('--to must be after --from');
      const rows = await withDatabase((db) => waitingReport(db, options));
      const lines = [`day,platform,jobs,p${options.percentile}_waiting_seconds`];
      for (const row of rows) {
        lines.push(`${row.day},${row.platform},${row.jobs},${row.waiting.toFixed(1)}`);
      }
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}

export function registerReconcile(program: Command): void {
  program
    .command('reconcile')
    .description(
      'look stale incomplete jobs up on the forges and redeliver failed GitHub deliveries (GITHUB_TOKEN, GITLAB_TOKEN, GITHUB_APP_ID)',
    )
    .option('--once', 'run one pass now and exit (the worker also runs passes on a schedule)')
    .option('--json', 'print the report as JSON')
    .action(async (options: { once?: boolean; json?: boolean }) => {
      if (!options.once) {
        throw new CliError(
          'use --once: the worker runs reconciliation on its own schedule (RECONCILE_INTERVAL)',
        );
      }
      const [{ loadConfig }, { canReconcile, createReconciler }] = await Promise.all([
        import('@runner-planner/config'),
        import('@runner-planner/worker'),
      ]);
      const { redisUrl, prefix } = await queueSettings();
      const config = loadConfig({
        ...process.env,
        DATABASE_URL: await databaseUrl(),
        REDIS_URL: redisUrl,
        QUEUE_PREFIX: prefix,
      });
      if (!canReconcile(config)) {
        throw new CliError(
          'nothing to reconcile against: set GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY (a GitHub App ' +
            'installed on your organisations) and/or GITHUB_TOKEN, and/or GITLAB_TOKEN (with GITLAB_URL)',
        );
      }
      await withDatabase(async (db) => {
        const reconciler = createReconciler(config, db);
        const bar = progress('reconciling');
        try {
          const report = await reconciler.run({
            onProgress: ({ stage, done, total }) => bar.update(done, total, stage),
          });
          bar.stop();
          if (options.json) return printJson(report);
          if (!report.ran)
            return void process.stdout.write('another reconcile pass is running; nothing done\n');
          const { redelivery, stale } = report;
          const { started, completed, missing } = stale.corrected;
          process.stdout.write(
            `redelivered ${redelivery.redelivered} of ${redelivery.failed} failed deliveries\n` +
              `checked ${stale.checked} stale jobs: ${started} started, ${completed} completed, ` +
              `${missing} missing on the forge, ${stale.skipped} skipped, ${stale.errors + redelivery.errors} errors\n` +
              `took ${report.durationSeconds.toFixed(1)} s\n`,
          );
        } finally {
          bar.stop();
          await reconciler.close();
        }
      });
    });
}
