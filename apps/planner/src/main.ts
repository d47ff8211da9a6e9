import { openConnections, runService } from '@runner-planner/process';
import { startPlanner } from './start.js';

await runService('planner', async (config) => {
  const planner = await startPlanner(config);
  return {
    log: planner.app.log,
    parts: [{ name: 'planner', close: () => planner.close(), pending: openConnections(planner.app.server) }],
  };
});
