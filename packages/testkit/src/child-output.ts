import type { ChildProcess } from 'node:child_process';

/**
 * Everything a spawned process writes, stdout and stderr interleaved as they arrive, for
 * readiness checks and for the error message when it fails. The process must be spawned with
 * both streams piped.
 */
export function collectOutput(child: ChildProcess): () => string {
  let output = '';
  const keep = (chunk: Buffer | string) => {
    output += chunk;
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return () => output;
}
