import { readdir, readFile } from 'node:fs/promises';

/** Clock ticks per second of /proc (USER_HZ), 100 on Linux everywhere that matters. */
const TICKS_PER_SECOND = 100;

interface ProcessSample {
  ppid: number;
  command: string;
  /** CPU seconds (user + system) so far. */
  cpu: number;
}

async function readProcess(pid: number): Promise<ProcessSample | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const command = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    // Fields after the command name, which is in parentheses and may contain spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return {
      ppid: Number(fields[1]),
      command,
      cpu: (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND,
    };
  } catch {
    return undefined;
  }
}

/** CPU seconds (user + system) one process has used so far; 0 once it is gone. */
export async function processCpuSeconds(pid: number): Promise<number> {
  return (await readProcess(pid))?.cpu ?? 0;
}

/** Every process of the machine now (empty where there is no /proc). */
async function allProcesses(): Promise<Map<number, ProcessSample>> {
  const entries = await readdir('/proc').catch(() => [] as string[]);
  const pids = entries.filter((entry) => /^\d+$/.test(entry)).map(Number);
  const samples = await Promise.all(pids.map(async (pid) => [pid, await readProcess(pid)] as const));
  return new Map(samples.filter((entry): entry is [number, ProcessSample] => entry[1] !== undefined));
}

/** CPU seconds of the whole machine so far (all cores) by kind, from /proc/stat. */
async function machineTicks(): Promise<
  Record<'user' | 'system' | 'softirq' | 'iowait' | 'steal' | 'total', number>
> {
  const line = (await readFile('/proc/stat', 'utf8').catch(() => '')).split('\n')[0] ?? '';
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = line
    .trim()
    .split(/\s+/)
    .slice(1, 9)
    .map(Number);
  return {
    user: (user + nice) / TICKS_PER_SECOND,
    system: system / TICKS_PER_SECOND,
    softirq: (irq + softirq) / TICKS_PER_SECOND,
    iowait: iowait / TICKS_PER_SECOND,
    steal: steal / TICKS_PER_SECOND,
    total: (user + nice + system + idle + iowait + irq + softirq + steal) / TICKS_PER_SECOND,
  };
}

/** CPU used during a measured phase, in cores (CPU seconds ÷ wall seconds; 1.0 = one core busy). */
export interface CpuUsage {
  /** Per named group of processes. */
  cores: Record<string, number>;
  /**
   * Processes outside this benchmark (not descendants of the runner, not PostgreSQL or Redis):
   * another session's work competing for the cores.
   */
  others: number;
  /** Busy share of all cores, 0..1, and how it splits (interrupt time is charged to no process). */
  machineBusy: number;
  machine: { user: number; system: number; softirq: number; steal: number };
}

export interface CpuProbe {
  stop(): Promise<CpuUsage>;
}

/** Pids of every process whose command name is `command` (e.g. `postgres`, `redis-server`). */
export async function pidsOf(command: string): Promise<number[]> {
  const pids: number[] = [];
  for (const [pid, sample] of await allProcesses()) if (sample.command === command) pids.push(pid);
  return pids;
}

const SHARED_SERVERS = new Set(['postgres', 'redis-server']);

function isOurs(pid: number, processes: Map<number, ProcessSample>): boolean {
  for (let current: number | undefined = pid; current !== undefined && current > 1; ) {
    if (current === process.pid) return true;
    current = processes.get(current)?.ppid;
  }
  return false;
}

type PidSource = () => Promise<number[]>;

/**
 * Starts measuring groups of processes, each given by a function listing its pids (asked at the
 * start and at the end, so a process started meanwhile counts from zero; one that exited
 * meanwhile is lost), and everything else on the machine.
 */
export async function probeCpu(groups: Record<string, PidSource>): Promise<CpuProbe> {
  const names = Object.keys(groups);
  const listGroups = () => Promise.all(names.map((name) => (groups[name] ?? (async () => []))()));
  const startedAt = performance.now();
  const groupsBefore = await listGroups();
  const before = await allProcesses();
  const machineBefore = await machineTicks();
  return {
    async stop() {
      const seconds = (performance.now() - startedAt) / 1000;
      const groupsAfter = await listGroups();
      const after = await allProcesses();
      const machineAfter = await machineTicks();
      const used = (pid: number) => {
        const end = after.get(pid)?.cpu;
        return end === undefined ? 0 : end - (before.get(pid)?.cpu ?? 0);
      };
      const cores: Record<string, number> = {};
      names.forEach((name, i) => {
        const pids = new Set([...(groupsBefore[i] ?? []), ...(groupsAfter[i] ?? [])]);
        cores[name] = [...pids].reduce((sum, pid) => sum + used(pid), 0) / seconds;
      });
      let others = 0;
      for (const [pid, sample] of after) {
        if (!SHARED_SERVERS.has(sample.command) && !isOurs(pid, after)) others += used(pid);
      }
      const delta = (key: keyof typeof machineAfter) => machineAfter[key] - machineBefore[key];
      const total = delta('total');
      const share = (value: number) => value / total;
      return {
        cores,
        others: others / seconds,
        machineBusy: share(delta('user') + delta('system') + delta('softirq') + delta('steal')),
        machine: {
          user: share(delta('user')),
          system: share(delta('system')),
          softirq: share(delta('softirq')),
          steal: share(delta('steal')),
        },
      };
    },
  };
}

export function formatCpu(usage: CpuUsage): string {
  const parts = Object.entries(usage.cores).map(([name, cores]) => `${name} ${cores.toFixed(2)}`);
  const split = usage.machine;
  return (
    `${parts.join(', ')}, other processes ${usage.others.toFixed(2)} (cores); machine ` +
    `${(usage.machineBusy * 100).toFixed(0)}% busy (user ${(split.user * 100).toFixed(0)}%, system ` +
    `${(split.system * 100).toFixed(0)}%, interrupts ${(split.softirq * 100).toFixed(0)}%, steal ` +
    `${(split.steal * 100).toFixed(0)}%)`
  );
}
