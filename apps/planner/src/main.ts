import { ConfigError, loadConfig } from '@runner-planner/config';
import { type RunningPlanner, startPlanner } from './start.js';

async function main(): Promise<void> {
  let planner: RunningPlanner;
  try {
    planner = await startPlanner(loadConfig(process.env));
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    planner.app.log.info({ signal }, 'planner stopping');
    planner.close().then(
      () => process.exit(0),
      (err: unknown) => {
        planner.app.log.error({ err }, 'planner did not stop cleanly');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`planner failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
