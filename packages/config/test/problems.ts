import { expect } from 'vitest';
import { ConfigError, loadConfig } from '../src/index.js';

/** The message loadConfig refuses `env` with; fails the test if it accepts it. */
export function problemsOf(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}
