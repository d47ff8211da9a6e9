import { type Config, ConfigError, loadConfig } from '@runner-planner/config';
import { closeOnExit, type Part } from './lifecycle.js';
import { errorText, type Log } from './log.js';

/** A started app: where it logs, and what closes it, in order. */
export interface Service {
  log: Log;
  parts: Part[];
}

/**
 * An app's whole process (its `main.ts`): the configuration from the environment, `start`, then
 * `closeOnExit` with SHUTDOWN_TIMEOUT. A bad configuration, or a start that fails, is one line
 * on stderr and exit 1: there is no logger yet, and a person is reading.
 */
export async function runService(name: string, start: (config: Config) => Promise<Service>): Promise<void> {
  let config: Config;
  let service: Service;
  try {
    config = loadConfig(process.env);
    service = await start(config);
  } catch (error) {
    process.stderr.write(
      error instanceof ConfigError ? `${error.message}\n` : `${name} failed to start: ${errorText(error)}\n`,
    );
    process.exit(1);
  }
  closeOnExit({ log: service.log, parts: service.parts, timeoutMs: config.shutdownTimeoutMs });
}
