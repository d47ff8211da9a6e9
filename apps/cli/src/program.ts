import { Command } from 'commander';
import { registerFlavor, registerJobs, registerPressure, registerToken } from './commands/admin.js';
import { registerImportOriginal } from './commands/import-original.js';
import { registerDlq, registerMigrate, registerReconcile, registerReport } from './commands/ops.js';
import { registerWebhook } from './commands/webhook.js';

/** The apps are imported only by the commands that run them, so admin commands start fast. */
export function buildProgram(): Command {
  const program = new Command('runner-planner')
    .description(
      'Turns GitHub Actions and GitLab CI job webhooks into per-flavor runner pressure.\n' +
        'Admin commands use DATABASE_URL / REDIS_URL, else the runner-planner start running in this directory.',
    )
    .showHelpAfterError()
    .exitOverride();
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
