import type { Config } from '@runner-planner/config';
import type { Platform } from './delivery.js';

export interface BodyLimit {
  bytes: number;
  /** The variable that sets it, for the 413 answer. */
  variable: string;
}

/**
 * GitHub bodies are buffered before their signature can be checked, so that route has the smaller
 * limit; GitLab requests are refused on their token before any of the body is read.
 */
export function webhookBodyLimit(config: Config, platform: Platform): BodyLimit {
  if (platform === 'github' && config.gatewayGitHubBodyLimitBytes < config.gatewayBodyLimitBytes) {
    return { bytes: config.gatewayGitHubBodyLimitBytes, variable: 'GATEWAY_GITHUB_BODY_LIMIT' };
  }
  return { bytes: config.gatewayBodyLimitBytes, variable: 'GATEWAY_BODY_LIMIT' };
}
