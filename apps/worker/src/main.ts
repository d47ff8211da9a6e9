import { ConfigError, loadConfig } from '@runner-planner/config';
import { startWorker } from './start.js';

try {
  const running = await startWorker(loadConfig());
  const stop = async () => {
    await running.close();
    process.exit(0);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(1);
  }
  throw error;
}
