import { Redis } from 'ioredis';

/** Calls per Redis command so far (`INFO commandstats`), to count round trips per request. */
export async function redisCommandCalls(redisUrl: string): Promise<Record<string, number>> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  try {
    const info = await redis.info('commandstats');
    const calls: Record<string, number> = {};
    for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
      calls[match[1] ?? ''] = Number(match[2]);
    }
    return calls;
  } finally {
    redis.disconnect();
  }
}

/** Commands per request between two snapshots, leaving out INFO (the snapshots' own, and ioredis' ready check). */
export function commandsPerRequest(
  before: Record<string, number>,
  after: Record<string, number>,
  requests: number,
): { total: number; byCommand: Record<string, number> } {
  const byCommand: Record<string, number> = {};
  let total = 0;
  for (const [command, calls] of Object.entries(after)) {
    if (command === 'info') continue;
    const made = calls - (before[command] ?? 0);
    if (made <= 0) continue;
    byCommand[command] = Number((made / requests).toFixed(2));
    total += made;
  }
  return { total: Number((total / requests).toFixed(2)), byCommand };
}

export async function redisVersion(redisUrl: string): Promise<string> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  try {
    return /redis_version:(\S+)/.exec(await redis.info('server'))?.[1] ?? 'unknown';
  } finally {
    redis.disconnect();
  }
}
