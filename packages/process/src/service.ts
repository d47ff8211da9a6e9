import { type Config, ConfigError, loadConfig } from '@runner-planner/config';
import { closeOnExit, type Part } from './lifecycle.js';
import { errorText, type Log, lineLog } from './log.js';

/** A started app: where it logs, and what closes it, in order. */
export interface Service {
  log: Log;
  parts: Part[];
}

/**
 * An app's whole process (its `main.ts`): the configuration from the environment, then
 * `closeOnExit` with SHUTDOWN_TIMEOUT, then `start`. The handlers go in first so that a signal
 * sent as soon as the app has logged that it is ready (or while it starts) closes it cleanly
 * rather than killing it. A bad configuration, or a start that fails, is one line on stderr and
 * exit 1: there is no logger yet, and a person is reading.
 */
export async function runService(name: string, start: (config: Config) => Promise<Service>): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    failToStart(name, error);
  }
  let log: Log = lineLog(name);
  const current: Log = {
    info: (details, message) => log.info(details, message),
    warn: (details, message) => log.warn(details, message),
    error: (details, message) => log.error(details, message),
  };
  // A signal while the app starts waits for the start, then closes what it started: closeOnExit
  // walks this array as it closes, so parts pushed meanwhile are closed after this one.
  let starting: Promise<Service> | undefined;
  let closing = false;
  const parts: Part[] = [
    {
      name: `${name} start`,
      close: () => {
        closing = true;
        return Promise.resolve(starting).then(noop, noop);
      },
      stopped: `${name} start finished`,
    },
  ];
  // Before start runs: whatever it prints may be the line a supervisor or a person acts on.
  closeOnExit({ log: current, parts, timeoutMs: config.shutdownTimeoutMs });
  starting = start(config);
  try {
    const service = await starting;
    log = service.log;
    // Once started, the start is nothing to wait for; while closing, the walk is past it.
    if (!closing) parts.length = 0;
    parts.push(...service.parts);
  } catch (error) {
    failToStart(name, error);
  }
}

const noop = () => {};

function failToStart(name: string, error: unknown): never {
  process.stderr.write(
    error instanceof ConfigError ? `${error.message}\n` : `${name} failed to start: ${errorText(error)}\n`,
  );
  process.exit(1);
}
