import { createRequire } from 'node:module';
import { Command } from 'commander';
import { registerFlavor, registerJobs, registerPressure, registerToken } from './commands/admin.js';
import { registerImportOriginal } from './commands/import-original.js';
import { registerDlq, registerMigrate, registerReconcile, registerReport } from './commands/ops.js';
import { registerWebhook } from './commands/webhook.js';
import { loadDeferred } from './deferred.js';

// The same relative path from src/ (tests) and dist/ (the command).
const { version } = createRequire(import.meta.url)('../package.json') as { version: string };

/**
 * Building the program loads commander and the command definitions only: the apps are imported
 * by the commands that run them, and what actions use of the database, queue and domain packages
 * is loaded by the preAction hook (./deferred.ts), so `--help` answers without loading them.
 */
export function buildProgram(): Command {
  const program = new Command('runner-planner')
    .version(version)
    .description(
      'Turns GitHub Actions and GitLab CI job webhooks into per-flavor runner pressure.\n' +
        'Admin commands use DATABASE_URL / REDIS_URL, else the runner-planner start running in this directory.',
    )
    .showHelpAfterError()
    .exitOverride()
    .hook('preAction', () => loadDeferred());
  program
    .command('start')
    .description('gateway, worker and planner in one process, with embedded defaults under .data/')
    .action(async () => (await import('./start.js')).runStart());
  for (const which of ['gateway', 'worker', 'planner'] as const) {
    program
      .command(which)
      .description(`run the ${which} alone (configured by the environment only)`)
      .action(async () => (await import('./start.js')).runApp(which));
  }
  registerMigrate(program);
  registerFlavor(program);
  registerToken(program);
  registerPressure(program);
  registerJobs(program);
  registerWebhook(program);
  registerDlq(program);
  registerReport(program);
  registerReconcile(program);
  registerImportOriginal(program);
  // Subcommands inherit exitOverride only when set before they are added; set it on all.
  const override = (command: Command) => {
    command.exitOverride();
    command.showHelpAfterError();
    for (const child of command.commands) override(child);
  };
  override(program);
  return program;
}
