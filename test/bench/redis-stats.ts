import { Redis } from 'ioredis';

export interface CommandStats {
  calls: number;
  /** Microseconds Redis spent executing it (its single thread's time). */
  usec: number;
}

/** Calls and time per Redis command so far (`INFO commandstats`; commands run by Lua scripts included). */
export async function redisCommandCalls(redisUrl: string): Promise<Record<string, CommandStats>> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  try {
    const info = await redis.info('commandstats');
    const stats: Record<string, CommandStats> = {};
    for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) {
      stats[match[1] ?? ''] = { calls: Number(match[2]), usec: Number(match[3]) };
    }
    return stats;
  } finally {
    redis.disconnect();
  }
}

export interface PerRequest {
  /** Commands per request (those run inside Lua scripts included). */
  commands: number;
  /** Per command: calls and microseconds per request (a script's EVALSHA time includes its commands'). */
  byCommand: Record<string, { calls: number; usec: number }>;
}

/** Redis work per request between two snapshots, leaving out INFO (the snapshots' own, ioredis' ready check). */
export function redisWorkPerRequest(
  before: Record<string, CommandStats>,
  after: Record<string, CommandStats>,
  requests: number,
): PerRequest {
  const round = (value: number) => Number(value.toFixed(2));
  const byCommand: PerRequest['byCommand'] = {};
  let commands = 0;
  for (const [command, stats] of Object.entries(after)) {
    if (command === 'info') continue;
    const calls = stats.calls - (before[command]?.calls ?? 0);
    if (calls <= 0) continue;
    const time = stats.usec - (before[command]?.usec ?? 0);
    byCommand[command] = { calls: round(calls / requests), usec: round(time / requests) };
    commands += calls;
  }
  return { commands: round(commands / requests), byCommand };
}

export async function redisVersion(redisUrl: string): Promise<string> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  try {
    return /redis_version:(\S+)/.exec(await redis.info('server'))?.[1] ?? 'unknown';
  } finally {
    redis.disconnect();
  }
}
