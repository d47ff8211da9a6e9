export { buildGateway, type GatewayOptions } from './app.js';
export { GITHUB_WEBHOOK_PATH } from './github.js';
export { GITLAB_WEBHOOK_PATH } from './gitlab.js';
export { METRIC_PREFIX } from './metrics.js';
export { type RunningGateway, type StartGatewayOptions, startGateway } from './start.js';
