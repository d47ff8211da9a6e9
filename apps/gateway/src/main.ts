import { openConnections, runService } from '@runner-planner/process';
import { startGateway } from './start.js';

await runService('gateway', async (config) => {
  const gateway = await startGateway(config);
  return {
    log: gateway.app.log,
    parts: [{ name: 'gateway', close: () => gateway.close(), pending: openConnections(gateway.app.server) }],
  };
});
