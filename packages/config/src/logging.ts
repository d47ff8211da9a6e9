import { createRequire } from 'node:module';
import type { Config } from './config.js';

export type LogFormat = NonNullable<Config['logFormat']>;

/**
 * LOG_FORMAT when set; else pretty for a person at a terminal, JSON for everything else (a pipe,
 * a file, a container's log collector), which reads one JSON object per line.
 */
export function logFormat(setting: LogFormat | undefined, isTTY: boolean): LogFormat {
  return setting ?? (isTTY ? 'pretty' : 'json');
}

/** The subset of pino's options this sets: assignable to pino's and to Fastify's `logger`. */
export interface PinoOptions {
  level: Config['logLevel'];
  transport?: { target: string; options: Record<string, unknown> };
}

// pino resolves a transport's target from the caller's location, which is Fastify's and cannot
// see pino-pretty under pnpm; an absolute path needs no resolving.
const prettyTarget = () => createRequire(import.meta.url).resolve('pino-pretty');

/**
 * pino options for every logger of the apps: the level, and pino-pretty (in pino's transport
 * thread) when the format is pretty. `isTTY` is whether stdout, where pino writes, is a terminal.
 */
export function pinoOptions(
  config: Pick<Config, 'logLevel' | 'logFormat'>,
  isTTY: boolean = process.stdout.isTTY === true,
): PinoOptions {
  const level = config.logLevel;
  if (logFormat(config.logFormat, isTTY) === 'json') return { level };
  return {
    level,
    transport: {
      target: prettyTarget(),
      // Colours only for a terminal: LOG_FORMAT=pretty into a file stays plain text.
      options: { colorize: isTTY, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' },
    },
  };
}
