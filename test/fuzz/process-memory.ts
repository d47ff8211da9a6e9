import { readFileSync } from 'node:fs';

/** Resident set size of a running process, from the kernel's own accounting (Linux). */
export function residentBytes(pid: number | undefined): number {
  if (pid === undefined) throw new Error('the process has no pid: it did not start');
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (match?.[1] === undefined) throw new Error(`no VmRSS line in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

export function mebibytes(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
