export {
  ADMIN_TOKEN_PATTERN,
  type Config,
  ConfigError,
  type Environment,
  type GitHubAppCredentials,
  type GitHubHook,
  type HttpServerLimits,
  loadConfig,
  requireSetting,
} from './config.js';
export { type LogFormat, logFormat, type PinoOptions, pinoOptions } from './logging.js';
export {
  CLUSTER_PROTOCOLS,
  type ClusterTarget,
  clusterTarget,
  SENTINEL_PROTOCOL,
  type SentinelTarget,
  sentinelTarget,
} from './redis-url.js';
