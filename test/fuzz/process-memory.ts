import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { AppProcess } from '../support/apps.js';

const PRELOAD = fileURLToPath(new URL('./gc-on-signal.cjs', import.meta.url));

/** Environment that lets `sampleMemory` force a full garbage collection in an app. */
export const GC_ON_SIGNAL_ENV = { NODE_OPTIONS: `--expose-gc --require ${PRELOAD}` };

export interface MemorySample {
  /** Resident set size from /proc/<pid>/status, right after a full collection. */
  rss: number;
  /** Live JavaScript heap after that collection. */
  heapUsed: number;
}

/** Resident set size of a running process, from the kernel's own accounting (Linux). */
export function residentBytes(pid: number | undefined): number {
  if (pid === undefined) throw new Error('the process has no pid: it did not start');
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (match?.[1] === undefined) throw new Error(`no VmRSS line in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

/** Forces a full collection in an app started with GC_ON_SIGNAL_ENV, then samples its memory. */
export async function sampleMemory(app: AppProcess): Promise<MemorySample> {
  const reportsBefore = app.output().split('gc-on-signal ').length;
  app.child.kill('SIGUSR2');
  const deadline = Date.now() + 10_000;
  for (;;) {
    const reports = app.output().split('gc-on-signal ');
    if (reports.length > reportsBefore) {
      const report = JSON.parse((reports.at(-1) ?? '').split('\n')[0] ?? '') as { heapUsed: number };
      return { rss: residentBytes(app.child.pid), heapUsed: report.heapUsed };
    }
    if (Date.now() > deadline) throw new Error(`${app.name} did not answer SIGUSR2 with a memory report`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export function mebibytes(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
