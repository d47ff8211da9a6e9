import { runService } from '@runner-planner/process';
import { startWorker } from './start.js';

await runService('worker', async (config) => {
  const worker = await startWorker(config);
  return {
    log: worker.log,
    parts: [{ name: 'worker', close: () => worker.close(), pending: () => worker.pending() }],
  };
});
