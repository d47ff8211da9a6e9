import { readFile } from 'node:fs/promises';

/** One process's memory at one moment, in bytes (NaN where it could not be read). */
export interface MemoryReading {
  /** Resident set size from /proc/<pid>/status: what the kernel charges the process. */
  rssBytes: number;
  /** V8 heap in use, from the app's own /metrics (prom-client's default metrics). */
  heapUsedBytes: number;
  /** V8 heap reserved, from /metrics. */
  heapTotalBytes: number;
}

/** VmRSS of a live process; NaN once it is gone (or where there is no /proc). */
export async function residentBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const kilobytes = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status)?.[1];
  return kilobytes === undefined ? Number.NaN : Number(kilobytes) * 1024;
}

/**
 * The value of the first sample whose metric name ends with `suffix` (each app prefixes the
 * default metrics differently: `runner_planner_`, `runner_planner_worker_`, …).
 */
function metricValue(exposition: string, suffix: string): number {
  const pattern = new RegExp(`^[a-zA-Z_:][a-zA-Z0-9_:]*${suffix}(?:\\{[^}]*\\})?\\s+(\\S+)`, 'm');
  const value = pattern.exec(exposition)?.[1];
  return value === undefined ? Number.NaN : Number(value);
}

export async function readMemory(pid: number, metricsUrl: string): Promise<MemoryReading> {
  const [rssBytes, exposition] = await Promise.all([
    residentBytes(pid),
    fetch(metricsUrl, { signal: AbortSignal.timeout(5_000) }).then(
      (response) => (response.ok ? response.text() : ''),
      () => '',
    ),
  ]);
  return {
    rssBytes,
    heapUsedBytes: metricValue(exposition, 'nodejs_heap_size_used_bytes'),
    heapTotalBytes: metricValue(exposition, 'nodejs_heap_size_total_bytes'),
  };
}
