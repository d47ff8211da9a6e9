export {
  closeOnExit,
  countConnections,
  openConnections,
  type Part,
  type Shutdown,
  type ShutdownOptions,
} from './lifecycle.js';
export { errorText, type Log, lineLog, redactUrl, redactUrls } from './log.js';
export {
  type ErrorEmitter,
  type LogErrorsOptions,
  logErrors,
  type Once,
  type OnceOptions,
  once,
} from './once.js';
export { runService, type Service } from './service.js';
