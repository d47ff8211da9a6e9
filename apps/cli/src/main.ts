#!/usr/bin/env node
import { CommanderError } from 'commander';
import { buildProgram } from './program.js';

// `runner-planner jobs list | head`: the reader is gone and has all it wanted. Without this
// the next write throws EPIPE as an unhandled 'error' with a stack trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  process.exit(0);
});

try {
  await buildProgram().parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    process.exit(error.exitCode);
  }
  // Imported here, not at the top, so that `--help` does not load zod: whatever threw one of
  // these errors has loaded its module already.
  const [{ ConfigError }, { InvalidInputError }] = await Promise.all([
    import('@runner-planner/config'),
    import('@runner-planner/core'),
  ]);
  if (error instanceof ConfigError || error instanceof InvalidInputError) {
    process.stderr.write(`runner-planner: ${error.message}\n`);
    process.exit(1);
  }
  const exitCode = (error as { exitCode?: unknown }).exitCode;
  if ((error as Error).name === 'CliError' && typeof exitCode === 'number') {
    process.stderr.write(`runner-planner: ${(error as Error).message}\n`);
    process.exit(exitCode);
  }
  process.stderr.write(
    `runner-planner: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
}
