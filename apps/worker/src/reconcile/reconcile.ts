import { randomBytes } from 'node:crypto';
import type { GitHubHook } from '@runner-planner/config';
import type { Database } from '@runner-planner/database';
import type { RedisClient } from '@runner-planner/queue';
import { PassFailures, type Warn, warnOnStderr } from './failures.js';
import {
  deliveriesToRedeliver,
  describeHook,
  type GitHubClient,
  listDeliveriesSince,
  redeliver,
} from './github.js';
import type { GitLabJobSource } from './gitlab.js';
import type { ReconcileMetrics } from './metrics.js';
import { checkStaleJobs, emptyStaleReport, type StaleCheckReport } from './stale.js';

export interface ReconcileOptions {
  db: Database;
  /** For the run lock and the ids of redelivered deliveries. */
  redis: RedisClient;
  /** Key prefix, the queue's (`{runner-planner}` by default). */
  prefix: string;
  metrics: ReconcileMetrics;
  /**
   * For job look-ups and repository/organisation hooks: GITHUB_TOKEN, the GitHub App's
   * installation tokens, or both. Absent without either: no such redelivery, no GitHub look-ups.
   */
  github?: GitHubClient | undefined;
  githubHooks?: readonly GitHubHook[];
  /** Authenticated as the GitHub App (JWT): reads and redelivers the `app` hook's deliveries. */
  githubApp?: GitHubClient | undefined;
  /** Absent without GITLAB_TOKEN: GitLab jobs are not looked up. */
  gitlab?: GitLabJobSource | undefined;
  intervalMs: number;
  staleAfterMs: number;
  /** Held jobs are looked up only after this long without an event or a lookup (default `staleAfterMs`). */
  heldAfterMs?: number;
  batchSize: number;
  /** Forge lookups in flight at once (default 10). */
  concurrency?: number;
  now?: () => Date;
  /** Called as work is found and done (the CLI draws a bar with it); scheduled passes leave it out. */
  onProgress?: ((progress: ReconcileProgress) => void) | undefined;
  /**
   * Told after each pass, once per distinct cause, what failed and what the forge answered
   * (status and message), e.g. every lookup refused with 401 for a bad GITHUB_TOKEN. Default: stderr.
   */
  warn?: Warn | undefined;
}

/**
 * How far a pass is within a stage: `done` of `total` items (failed deliveries, then stale jobs).
 * Totals grow while the work is still being listed (hook by hook, page by page); once a stage's
 * listing is complete its total is exact and `done` ends equal to it.
 */
export interface ReconcileProgress {
  stage: 'redelivery' | 'stale';
  done: number;
  total: number;
}

export interface RedeliveryReport {
  /** Failed `workflow_job` deliveries found in the look-back window. */
  failed: number;
  redelivered: number;
  errors: number;
}

export interface ReconcileReport {
  /** False when another worker's pass held the lock: this call did nothing. */
  ran: boolean;
  redelivery: RedeliveryReport;
  stale: StaleCheckReport;
  durationSeconds: number;
}

/** Deliveries appear in GitHub's list late; looking back 3 intervals catches them on a later pass. */
export const LOOKBACK_INTERVALS = 3;
const LOCK_TTL_MS = 60_000;

const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;
const EXTEND = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;

/**
 * Holds a Redis lock while `work` runs, renewing it; resolves undefined when someone else holds
 * it. A failed renewal is retried at the next one; `onRenewError` hears of it, since a lock that
 * lapses lets another worker's pass overlap this one.
 */
async function withLock<T>(
  redis: RedisClient,
  key: string,
  work: () => Promise<T>,
  onRenewError: (error: unknown) => void,
): Promise<T | undefined> {
  const token = randomBytes(16).toString('hex');
  if ((await redis.set(key, token, 'PX', LOCK_TTL_MS, 'NX')) !== 'OK') return undefined;
  const renew = setInterval(() => {
    redis.eval(EXTEND, 1, key, token, LOCK_TTL_MS).catch(onRenewError);
  }, LOCK_TTL_MS / 3);
  try {
    return await work();
  } finally {
    clearInterval(renew);
    await redis.eval(RELEASE, 1, key, token);
  }
}

async function redeliverFailed(
  options: ReconcileOptions,
  now: Date,
  failures: PassFailures,
): Promise<RedeliveryReport> {
  const report: RedeliveryReport = { failed: 0, redelivered: 0, errors: 0 };
  let total = 0;
  let done = 0;
  const tell = () => options.onProgress?.({ stage: 'redelivery', done, total });
  const lookbackMs = options.intervalMs * LOOKBACK_INTERVALS;
  const since = new Date(now.getTime() - lookbackMs);
  // Remembered well past the look-back window, so a delivery is never redelivered twice.
  const rememberSeconds = Math.max(86_400, Math.ceil((lookbackMs * 2) / 1000));
  for (const hook of options.githubHooks ?? []) {
    // The App's hook answers only to the App's JWT; repository and organisation hooks to a token
    // (a personal one, or that of the App's installation on the hook's owner).
    const client = hook.kind === 'app' ? options.githubApp : options.github;
    if (client === undefined) continue;
    let failed: ReturnType<typeof deliveriesToRedeliver>;
    try {
      failed = deliveriesToRedeliver(await listDeliveriesSince(client, hook, since));
    } catch (error) {
      report.errors += 1;
      options.metrics.errors.inc({ platform: 'github', kind: 'deliveries' });
      failures.add('GitHub hook delivery listings', error, `hook ${describeHook(hook)}`);
      continue;
    }
    report.failed += failed.length;
    total += failed.length;
    if (failed.length > 0) tell();
    for (const delivery of failed) {
      const key = `${options.prefix}:reconcile:redelivered:${describeHook(hook)}:${delivery.id}`;
      if ((await options.redis.set(key, now.toISOString(), 'EX', rememberSeconds, 'NX')) !== 'OK') {
        done += 1;
        tell();
        continue;
      }
      try {
        await redeliver(client, hook, delivery.id);
        report.redelivered += 1;
        options.metrics.redelivered.inc();
      } catch (error) {
        // Not redelivered: forget it so the next pass tries again.
        await options.redis.del(key);
        report.errors += 1;
        options.metrics.errors.inc({ platform: 'github', kind: 'redeliver' });
        failures.add('GitHub redeliveries', error, `delivery ${delivery.id} of hook ${describeHook(hook)}`);
      }
      done += 1;
      tell();
    }
  }
  return report;
}

/**
 * One reconcile pass: redeliver failed GitHub `workflow_job` deliveries of the configured hooks,
 * then look up every stale incomplete job on its forge and record its real state. At most one
 * pass runs at a time across every worker (a Redis lock); a call that finds the lock held
 * returns `ran: false` at once.
 */
export async function reconcileOnce(options: ReconcileOptions): Promise<ReconcileReport> {
  const now = options.now ?? (() => new Date());
  const started = performance.now();
  const lock = `${options.prefix}:reconcile:lock`;
  const failures = new PassFailures();
  const work = async () => {
    const timer = options.metrics.duration.startTimer();
    try {
      const redelivery = await redeliverFailed(options, now(), failures);
      const stale = await checkStaleJobs({
        db: options.db,
        metrics: options.metrics,
        github: options.github,
        gitlab: options.gitlab,
        staleAfterMs: options.staleAfterMs,
        heldAfterMs: options.heldAfterMs ?? options.staleAfterMs,
        batchSize: options.batchSize,
        failures,
        ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
        now,
        ...(options.onProgress === undefined
          ? {}
          : {
              onProgress: (done: number, total: number) =>
                options.onProgress?.({ stage: 'stale', done, total }),
            }),
      });
      return { redelivery, stale };
    } finally {
      timer();
      failures.tell(options.warn ?? warnOnStderr);
    }
  };
  const result = await withLock(options.redis, lock, work, (error) =>
    failures.add('reconcile lock renewals', error, lock),
  );
  const durationSeconds = (performance.now() - started) / 1000;
  if (result === undefined) {
    return {
      ran: false,
      redelivery: { failed: 0, redelivered: 0, errors: 0 },
      stale: emptyStaleReport(),
      durationSeconds,
    };
  }
  return { ran: true, ...result, durationSeconds };
}
