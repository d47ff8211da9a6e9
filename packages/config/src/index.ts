export {
  ADMIN_TOKEN_PATTERN,
  type Config,
  ConfigError,
  type Environment,
  type GitHubAppCredentials,
  type GitHubHook,
  loadConfig,
  requireSetting,
} from './config.js';
