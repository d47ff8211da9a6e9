export {
  ADMIN_TOKEN_PATTERN,
  type Config,
  ConfigError,
  type Environment,
  loadConfig,
  requireSetting,
} from './config.js';
