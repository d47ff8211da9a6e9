import type { ImportOriginalSummary, ImportTally } from '@runner-planner/database';
import type { Command } from 'commander';
import { CliError, databaseUrl, withDatabase } from '../context.js';
import { progress } from '../progress.js';
import { printSafeJson, shown } from './terminal.js';

/** Skipped jobs listed one per line before the rest are only counted (`--json` lists all). */
const SKIPPED_JOBS_SHOWN = 20;

export function registerImportOriginal(program: Command): void {
  program
    .command('import-original')
    .description(
      "copy flavors, API tokens and incomplete jobs from the original planner's PostgreSQL " +
        '(canonical/github-runner-operators); its tokens keep working; safe to run again',
    )
    .requiredOption(
      '--from <url>',
      "the original planner's database, postgres://user:password@host:port/database (only read)",
    )
    .option('--json', 'print the summary as JSON')
    .action(async (options: { from: string; json?: boolean }) => {
      const [{ loadConfig }, { ImportOriginalError, importOriginal, migrate, OriginalDatabase }] =
        await Promise.all([import('@runner-planner/config'), import('@runner-planner/database')]);
      const config = loadConfig({
        GITHUB_SELF_HOSTED_ONLY: process.env.GITHUB_SELF_HOSTED_ONLY,
        GITHUB_IMPLICIT_LABELS: process.env.GITHUB_IMPLICIT_LABELS,
      });
      const url = await databaseUrl();
      const asCliError = (error: unknown) =>
        error instanceof ImportOriginalError ? new CliError(error.message) : error;
      // The source is checked before anything here is touched, migrations included.
      const source = await OriginalDatabase.open(options.from).catch((error: unknown) => {
        throw asCliError(error);
      });
      try {
        // The import may come before the first start of the apps, which would create the schema.
        await migrate(url);
        await withDatabase(async (db) => {
          const bar = progress('importing');
          let summary: ImportOriginalSummary;
          try {
            summary = await importOriginal({
              from: source,
              db,
              githubSelfHostedOnly: config.githubSelfHostedOnly,
              githubImplicitLabels: config.githubImplicitLabels,
              onProgress: ({ stage, done, total }) => bar.update(done, total, stage),
            });
          } catch (error) {
            throw asCliError(error);
          } finally {
            bar.stop();
          }
          if (options.json) return printSafeJson(summary);
          printSummary(source.url, summary);
        });
      } finally {
        await source.close();
      }
    });
}

function counts(tally: ImportTally): string {
  return `${tally.imported} imported, ${tally.present} already here, ${tally.skipped.length} skipped`;
}

function printSummary(from: string, summary: ImportOriginalSummary): void {
  const version =
    summary.sourceVersion === null ? 'no migration version' : `schema version ${summary.sourceVersion}`;
  const left = summary.completedJobsLeft;
  const lines = [
    `from ${from} (${version})`,
    `flavors  ${counts(summary.flavors)}`,
    `tokens   ${counts(summary.tokens)}`,
    `jobs     ${counts(summary.jobs)}; ${left} completed job${left === 1 ? '' : 's'} left behind`,
  ];
  // Names and reasons come from the original's rows: escaped, like every name the CLI prints.
  for (const { item, reason } of summary.flavors.skipped) {
    lines.push(`skipped flavor "${shown(item)}": ${shown(reason)}`);
  }
  for (const { item, reason } of summary.tokens.skipped) {
    lines.push(`skipped token "${shown(item)}": ${shown(reason)}`);
  }
  for (const { item, reason } of summary.jobs.skipped.slice(0, SKIPPED_JOBS_SHOWN)) {
    lines.push(`skipped job ${shown(item)}: ${shown(reason)}`);
  }
  const more = summary.jobs.skipped.length - SKIPPED_JOBS_SHOWN;
  if (more > 0) lines.push(`… and ${more} more skipped jobs (--json lists them all)`);
  const imported = summary.flavors.imported + summary.tokens.imported + summary.jobs.imported;
  lines.push(
    imported === 0
      ? 'nothing changed: everything importable was already here'
      : 'done; running it again changes nothing',
  );
  process.stdout.write(`${lines.join('\n')}\n`);
}
