import { createHash, randomBytes } from 'node:crypto';
import {
  DeadlockException,
  type EntityManager,
  LockWaitTimeoutException,
  type MikroORM,
  UniqueConstraintViolationException,
} from '@mikro-orm/postgresql';
import {
  argumentSchemas,
  checkArgument,
  DEFAULT_STALE_AFTER_MS,
  explainJob,
  type Flavor,
  InvalidInputError,
  isTokenScope,
  type Job,
  type JobExplanation,
  type NewJob,
  parseFlavor,
  parseNewJob,
  type TokenScope,
} from '@runner-planner/core';
import type DataLoader from 'dataloader';
import pRetry from 'p-retry';
import type pg from 'pg';
import Cursor from 'pg-cursor';
import { gatedLoader } from './batch-gate.js';
import { AuthTokenEntity, FlavorEntity, type FlavorRow, JobEntity, type JobRow } from './entities.js';
import { ExistError, NotExistError } from './errors.js';
import { openOrm } from './orm.js';
import {
  type PressureSubscription,
  subscribeToPressure,
  subscribeToTokenRevocations,
  type TokenRevocationListener,
  type TokenRevocationSubscription,
} from './pressure-channel.js';
import { PressureSignal, SIGNAL_PRESSURE } from './pressure-signal.js';
import * as sql from './sql.js';

export const DEFAULT_LIMIT = 100;

export interface ListJobOptions {
  withId?: string;
  onlyNotCompleted?: boolean;
  createdAfter?: Date;
  /** 0 or absent → DEFAULT_LIMIT. */
  limit?: number;
}

/** Which incomplete jobs reconciliation should look up now; see `listStaleJobs`. */
export interface StaleJobQuery {
  now: Date;
  /** Jobs that are not held: looked up after this long without an event. */
  staleAfterMs: number;
  /** Held jobs: first looked up after this long without an event (default `staleAfterMs`). */
  heldAfterMs?: number;
  limit: number;
  /** The `cursor` of the previous page. */
  after?: string;
}

/** One page of `listStaleJobs`: pass `cursor` back to read the next page; undefined after the last. */
export interface StaleJobPage {
  /** Each with the time of its last event, for `holdJob`'s check that nothing arrived since. */
  jobs: (Job & { updatedAt: Date })[];
  cursor: string | undefined;
}

export interface DatabaseOptions {
  /** Incomplete jobs created longer ago than this stop counting toward pressure. Default 5 days. */
  staleAfterMs?: number;
  /** Most query connections this instance opens. Default 10. */
  poolSize?: number;
  /**
   * Where the one LISTEN connection of pressure and token notifications goes (DATABASE_LISTEN_URL):
   * LISTEN needs a session of its own, which a pooler in transaction mode does not give. Default:
   * the database URL.
   */
  listenUrl?: string;
  /**
   * Named prepared statements on the hot paths (default true). Off for a pooler in transaction
   * mode that cannot carry them (PgBouncer before 1.21): each query is then parsed anew.
   */
  preparedStatements?: boolean;
  /**
   * Told when the signal that follows a write could not be sent (the write itself committed):
   * planners then see the change at their next periodic read (PRESSURE_HEARTBEAT_SECONDS).
   */
  onSignalError?: (error: unknown) => void;
  /**
   * How concurrent job writes (addJob and the job updates) gather into one statement and one
   * commit. Default: a batch is sent on the next tick, holding what was called meanwhile; under
   * load, also what was called while earlier batches ran.
   */
  writeBatches?: WriteBatchOptions;
}

/** See `DatabaseOptions.writeBatches`. */
export interface WriteBatchOptions {
  /**
   * How long a batch waits for more calls after its first (default 0). Fewer, larger batches
   * save commits (the worker's WORKER_BATCH_WINDOW); each write waits at most this long.
   */
  windowMs?: number;
  /** A batch is sent before its window ends once it holds this many writes. */
  flushAt?: number;
}

/** A statement the driver may prepare under its name. */
interface NamedStatement {
  name: string;
  text: string;
}

/** Incomplete jobs of one platform, by where they stand (docs/pressure.md). */
export interface IncompleteJobCounts {
  platform: string;
  /** Known to the forge, not offered to runners yet: never counted. */
  held: number;
  /** Waiting for a runner (assigned or not). */
  queued: number;
  /** Running (assigned or not). */
  running: number;
  /** Waiting or running, within the staleness window, and taken by no flavor: demand nobody serves. */
  unassigned: number;
}

/** Jobs started in [from, to): the range of the waiting report. */
export interface StartedRange {
  from: Date;
  to: Date;
}

/** One assigned job's wait for a runner, created → started. */
export interface WaitingTime {
  /** The UTC day it started, YYYY-MM-DD. */
  day: string;
  platform: string;
  /** Never negative: a forge clock behind ours does not make a job start before it was created. */
  seconds: number;
}

/** Rows a waiting-time cursor reads per round trip. */
const WAITING_TIMES_BATCH = 5_000;

/** A general API token as the planner sees it: who it is and what it may do. */
export interface AuthTokenInfo {
  name: string;
  scope: TokenScope;
}

export interface CreateAuthTokenOptions {
  /** `general` (the default: the rights tokens of the original planner had) or `read-only`. */
  scope?: TokenScope;
}

/** Jobs recorded concurrently are written in one statement, up to this many at a time. */
const MAX_JOB_BATCH = 500;

const TOKEN_BYTES = 32;

function checkJobUpdate(
  platform: string,
  id: string,
  field: string,
  at: Date,
  raw: Record<string, unknown> | undefined,
): void {
  checkArgument(argumentSchemas.platform, 'job', platform);
  checkArgument(argumentSchemas.jobId, 'job', id);
  checkArgument(argumentSchemas.date(field), 'job', at);
  if (raw !== undefined) checkArgument(argumentSchemas.raw, 'job', raw);
}

/**
 * What jsonb cannot hold, as JSON.stringify escapes it (with a backslash that is not itself
 * escaped): U+0000, and lone surrogates (a valid pair is written as characters, not escapes).
 * PostgreSQL refuses a whole value that contains either, and a webhook payload may.
 */
const UNSTORABLE_ESCAPE = /(?<!\\)((?:\\\\)*)\\u(?:0000|d[89a-f][0-9a-f]{2})/g;

/**
 * JSON text for a jsonb parameter. Characters jsonb cannot hold become U+FFFD, so an event whose
 * payload carries them is still recorded rather than refused at every retry.
 */
function jsonbText(value: unknown): string {
  const text = JSON.stringify(value);
  return text.includes('\\u0000') || text.includes('\\ud')
    ? text.replace(UNSTORABLE_ESCAPE, '$1\\ufffd')
    : text;
}

/** JSON text for a `$n::jsonb` parameter; null leaves `raw` as stored. */
const rawParameter = (raw: Record<string, unknown> | undefined) =>
  raw === undefined ? null : jsonbText(raw);

/** One job update of a `record_job_events` batch (see the job-event-batches migration). */
interface JobUpdate {
  kind: 'started' | 'completed' | 'waiting' | 'merge';
  platform: string;
  id: string;
  at?: string;
  startedAt?: string | null;
  raw?: Record<string, unknown>;
}

/** Job updates recorded concurrently go in one statement, up to this many at a time. */
const MAX_UPDATE_BATCH = 200;

/**
 * Batches of each kind in flight at once: two keep the connection busy while the next batch
 * gathers, and batches stay large under load, which is what saves the commits.
 */
const BATCHES_IN_FLIGHT = 2;

function jobKey(platform: string, id: string): string {
  return JSON.stringify([platform, id]);
}

function toFlavor(row: FlavorRow): Flavor {
  return {
    platform: row.platform,
    name: row.name,
    labels: row.labels,
    priority: row.priority,
    isDisabled: row.isDisabled,
    minimumPressure: row.minimumPressure,
    // A setting of GitLab flavors only: other platforms' flavors keep the original's shape.
    ...(row.platform === 'gitlab' ? { runUntagged: row.runUntagged ?? row.labels.length === 0 } : {}),
  };
}

function toJob(row: JobRow): Job {
  return {
    platform: row.platform,
    id: row.id,
    labels: row.labels,
    createdAt: row.createdAt,
    startedAt: row.startedAt,
    completedAt: row.completedAt,
    raw: row.raw,
    held: row.held,
    releasedAt: row.releasedAt ?? null,
    assignedFlavor: row.assignedFlavor,
  };
}

function checkScope(scope: unknown): TokenScope {
  if (scope === undefined) return 'general';
  if (!isTokenScope(scope)) throw new InvalidInputError('token', ['scope must be general or read-only']);
  return scope;
}

function hashToken(token: Uint8Array): Buffer {
  return createHash('sha256').update(token).digest();
}

function checkWriteBatches(options: WriteBatchOptions): WriteBatchOptions {
  const problems: string[] = [];
  const { windowMs, flushAt } = options;
  if (windowMs !== undefined && !(Number.isFinite(windowMs) && windowMs >= 0 && windowMs <= 1_000)) {
    problems.push('writeBatches.windowMs must be between 0 and 1000 milliseconds');
  }
  if (flushAt !== undefined && !(Number.isInteger(flushAt) && flushAt > 0)) {
    problems.push('writeBatches.flushAt must be a positive integer');
  }
  if (problems.length > 0) throw new InvalidInputError('options', problems);
  return options;
}

/**
 * A batch that failed for any reason but a conflict (those are retried whole) runs again one
 * call at a time, so one call PostgreSQL refuses fails alone rather than taking its batch with it.
 */
function splitBatch<K, V>(
  keys: readonly K[],
  runAlone: (key: K) => Promise<readonly (V | Error)[]>,
): Promise<(V | Error)[]> {
  return Promise.all(
    keys.map(async (key) => {
      const [result] = await runAlone(key);
      return result as V | Error;
    }),
  );
}

function checkStartedRange(range: StartedRange): void {
  checkArgument(argumentSchemas.date('from'), 'started range', range.from);
  checkArgument(argumentSchemas.date('to'), 'started range', range.to);
}

/**
 * Deadlocks and lock time-outs are resolved by running the whole transaction again: as the ORM
 * reports them, or as the driver does for a statement run on one of its clients (SQLSTATE
 * 40P01 deadlock detected, 55P03 lock not available).
 */
const CONFLICT_RETRY = {
  retries: 5,
  minTimeout: 10,
  maxTimeout: 200,
  shouldRetry: (error: unknown) => {
    if (error instanceof DeadlockException || error instanceof LockWaitTimeoutException) return true;
    const code = (error as { code?: unknown }).code;
    return code === '40P01' || code === '55P03';
  },
};

/**
 * runner-planner's store: flavors, jobs and API tokens in PostgreSQL, and the pressure derived
 * from them. Every write that can change a pressure signals `pressure_change` once it has
 * committed: flavor changes from their trigger, job writes through `PressureSignal`.
 */
export class Database {
  private readonly jobInserts: Pick<DataLoader<NewJob, void>, 'load'>;
  private readonly jobUpdates: Pick<DataLoader<JobUpdate, boolean>, 'load'>;
  private readonly subscriptions = new Set<{ close(): Promise<void> }>();
  private readonly pressureSignal: PressureSignal;

  private constructor(
    private readonly orm: MikroORM,
    /** Where the LISTEN connection goes: DATABASE_LISTEN_URL, else the database URL. */
    private readonly listenUrl: string,
    private readonly staleAfterMs: number,
    private readonly preparedStatements: boolean,
    onSignalError: (error: unknown) => void,
    writeBatches: WriteBatchOptions,
  ) {
    this.pressureSignal = new PressureSignal(() => this.runStatement(SIGNAL_PRESSURE, []), onSignalError);
    // Concurrent job writes share one statement and one commit: fewer round trips and commits.
    this.jobInserts = gatedLoader((jobs) => this.insertJobs(jobs), {
      ...writeBatches,
      maxInFlight: BATCHES_IN_FLIGHT,
      maxBatchSize: MAX_JOB_BATCH,
    });
    this.jobUpdates = gatedLoader((updates) => this.recordJobUpdates(updates), {
      ...writeBatches,
      maxInFlight: BATCHES_IN_FLIGHT,
      maxBatchSize: MAX_UPDATE_BATCH,
    });
  }

  static async connect(databaseUrl: string, options: DatabaseOptions = {}): Promise<Database> {
    const staleAfterMs = options.staleAfterMs ?? DEFAULT_STALE_AFTER_MS;
    if (!Number.isFinite(staleAfterMs) || staleAfterMs <= 0) {
      throw new InvalidInputError('options', ['staleAfterMs must be a positive number of milliseconds']);
    }
    const orm = await openOrm(
      databaseUrl,
      options.poolSize === undefined ? {} : { poolSize: options.poolSize },
    );
    // MikroORM.init only logs a first connection that fails; a caller must hear it here, in
    // PostgreSQL's words (a wrong host, password or database name).
    const connection = await orm.checkConnection();
    if (!connection.ok) {
      await orm.close(true);
      throw connection.error ?? new Error(connection.reason);
    }
    return new Database(
      orm,
      options.listenUrl ?? databaseUrl,
      staleAfterMs,
      options.preparedStatements ?? true,
      options.onSignalError ?? (() => {}),
      checkWriteBatches(options.writeBatches ?? {}),
    );
  }

  async close(): Promise<void> {
    await this.pressureSignal.settled();
    await Promise.all([...this.subscriptions].map((subscription) => subscription.close()));
    await this.orm.close(true);
  }

  private em(): EntityManager {
    return this.orm.em.fork() as EntityManager;
  }

  private transaction<T>(work: (em: EntityManager) => Promise<T>): Promise<T> {
    return pRetry(() => this.em().transactional(work), CONFLICT_RETRY);
  }

  // Flavors

  async addFlavor(flavor: Flavor): Promise<void> {
    const checked = parseFlavor(flavor);
    await this.transaction(async (em) => {
      await em.execute(sql.LOCK_FOR_FLAVOR_CHANGE, [sql.ASSIGNMENT_LOCK_KEY]);
      try {
        await em.insert(FlavorEntity, checked);
      } catch (error) {
        if (error instanceof UniqueConstraintViolationException) throw new ExistError();
        throw error;
      }
      if (!checked.isDisabled) {
        await this.assignWaitingJobs(em, checked.platform, checked.labels);
      }
    });
  }

  /** Waiting jobs that a flavor with these labels could take get the best flavor now available. */
  private async assignWaitingJobs(em: EntityManager, platform: string, labels: string[]): Promise<void> {
    const covered = JSON.stringify(labels);
    await em.execute(sql.ASSIGN_UNASSIGNED_JOBS, [platform, covered, null, platform, covered]);
  }

  /** A flavor's open jobs go to the next best flavor (or wait); its completed ones are released. */
  private async moveJobsOff(em: EntityManager, name: string): Promise<void> {
    await em.execute(sql.REASSIGN_JOBS_OF_FLAVOR, [name, name, name]);
    await em.execute(sql.RELEASE_JOBS_OF_FLAVOR, [name]);
  }

  async getFlavor(name: string): Promise<Flavor> {
    checkArgument(argumentSchemas.flavorName, 'flavor name', name);
    const row = await this.em().findOne(FlavorEntity, { name });
    if (row === null) throw new NotExistError();
    return toFlavor(row);
  }

  /** Every flavor of every platform, by name. */
  async listAllFlavors(): Promise<Flavor[]> {
    const rows = await this.em().find(FlavorEntity, {}, { orderBy: { name: 'asc' } });
    return rows.map(toFlavor);
  }

  /**
   * "Why is my job not picked up?": the stored job explained against every flavor at `now`,
   * with this store's staleness window; NotExistError when no event of it was recorded.
   */
  async explainJob(platform: string, id: string, now: Date = new Date()): Promise<JobExplanation> {
    checkArgument(argumentSchemas.platform, 'job', platform);
    checkArgument(argumentSchemas.jobId, 'job', id);
    const [job] = await this.listJobs(platform, { withId: id });
    if (job === undefined) throw new NotExistError();
    return explainJob(job, await this.listAllFlavors(), now, this.staleAfterMs);
  }

  async listFlavors(platform: string): Promise<Flavor[]> {
    checkArgument(argumentSchemas.platform, 'platform', platform);
    const rows = await this.em().find(FlavorEntity, { platform }, { orderBy: { name: 'asc' } });
    return rows.map(toFlavor);
  }

  async disableFlavor(platform: string, name: string): Promise<void> {
    await this.setFlavorDisabled(platform, name, true);
  }

  async enableFlavor(platform: string, name: string): Promise<void> {
    await this.setFlavorDisabled(platform, name, false);
  }

  private async setFlavorDisabled(platform: string, name: string, disabled: boolean): Promise<void> {
    checkArgument(argumentSchemas.platform, 'platform', platform);
    checkArgument(argumentSchemas.flavorName, 'flavor name', name);
    await this.transaction(async (em) => {
      await em.execute(sql.LOCK_FOR_FLAVOR_CHANGE, [sql.ASSIGNMENT_LOCK_KEY]);
      const found = await em.execute(sql.SET_FLAVOR_DISABLED, [disabled, platform, name]);
      if (found.length === 0) throw new NotExistError();
      if (disabled) {
        await this.moveJobsOff(em, name);
      } else {
        const flavor = await em.findOneOrFail(FlavorEntity, { name });
        await this.assignWaitingJobs(em, platform, flavor.labels);
      }
    });
  }

  async deleteFlavor(platform: string, name: string): Promise<void> {
    checkArgument(argumentSchemas.platform, 'platform', platform);
    checkArgument(argumentSchemas.flavorName, 'flavor name', name);
    await this.transaction(async (em) => {
      await em.execute(sql.LOCK_FOR_FLAVOR_CHANGE, [sql.ASSIGNMENT_LOCK_KEY]);
      const flavor = await em.findOne(FlavorEntity, { platform, name });
      if (flavor === null) return;
      await this.moveJobsOff(em, name);
      await em.execute(sql.DELETE_FLAVOR, [platform, name]);
    });
  }

  // Jobs

  /** Records a job and assigns it a flavor; ExistError when (platform, id) is already stored. */
  async addJob(job: NewJob): Promise<void> {
    await this.jobInserts.load(parseNewJob(job));
  }

  private async insertJobs(jobs: readonly NewJob[]): Promise<(undefined | Error)[]> {
    const payload = jsonbText(
      jobs.map((job) => ({
        platform: job.platform,
        id: job.id,
        labels: job.labels,
        created_at: job.createdAt.toISOString(),
        started_at: job.startedAt?.toISOString() ?? null,
        completed_at: job.completedAt?.toISOString() ?? null,
        raw: job.raw,
        held: job.held ?? false,
      })),
    );
    let inserted: { platform: string; id: string; counted: boolean }[];
    try {
      inserted = await pRetry(
        async () =>
          (
            await this.runStatement<{ platform: string; id: string; counted: boolean }>(sql.INSERT_JOBS, [
              payload,
              sql.ASSIGNMENT_LOCK_KEY,
            ])
          ).rows,
        CONFLICT_RETRY,
      );
    } catch (error) {
      if (jobs.length > 1) return splitBatch(jobs, (job) => this.insertJobs([job]));
      return [error instanceof Error ? error : new Error(String(error))];
    }
    if (inserted.some((row) => row.counted)) this.pressureSignal.raise();
    // Within one batch the first call for a (platform, id) inserted it; repeats already exist.
    const unclaimed = new Set(inserted.map((row) => jobKey(row.platform, row.id)));
    return jobs.map((job) => {
      const key = jobKey(job.platform, job.id);
      if (!unclaimed.has(key)) return new ExistError();
      unclaimed.delete(key);
      return undefined;
    });
  }

  /** Jobs of a platform, oldest first. */
  async listJobs(platform: string, options: ListJobOptions = {}): Promise<Job[]> {
    checkArgument(argumentSchemas.platform, 'platform', platform);
    const limit = options.limit ?? 0;
    if (!Number.isInteger(limit) || limit < 0) {
      throw new InvalidInputError('list options', ['limit must be a non-negative integer']);
    }
    if (options.createdAfter !== undefined) {
      checkArgument(argumentSchemas.date('createdAfter'), 'list options', options.createdAfter);
    }
    const rows = await this.em().find(
      JobEntity,
      {
        platform,
        ...(options.withId ? { id: options.withId } : {}),
        ...(options.onlyNotCompleted ? { completedAt: null } : {}),
        ...(options.createdAfter ? { createdAt: { $gt: options.createdAfter } } : {}),
      },
      { orderBy: { createdAt: 'asc', pk: 'asc' }, limit: limit === 0 ? DEFAULT_LIMIT : limit },
    );
    return rows.map(toJob);
  }

  /**
   * The incomplete jobs reconciliation should look up on their forge at `query.now`, a page of
   * at most `limit` in storage order; `after` is the cursor of the previous page.
   * - A job that counts (or waits for a flavor): no event for `staleAfterMs`.
   * - A held job: no event for `heldAfterMs` (default `staleAfterMs`), and not looked up
   *   (`markJobChecked`) since it was half as old as now. A manual job may never be played, so
   *   each held job is looked up at ages of about 1, 2, 4, 8… times `heldAfterMs`: a lost hook
   *   is found within hours, and a held job costs a logarithmic number of API calls however
   *   long it stays.
   */
  async listStaleJobs(query: StaleJobQuery): Promise<StaleJobPage> {
    const { now, staleAfterMs, limit, after } = query;
    const heldAfterMs = query.heldAfterMs ?? staleAfterMs;
    checkArgument(argumentSchemas.date('now'), 'stale job query', now);
    const problems: string[] = [];
    for (const [name, value] of [
      ['staleAfterMs', staleAfterMs],
      ['heldAfterMs', heldAfterMs],
    ] as const) {
      if (!Number.isFinite(value) || value < 0) problems.push(`${name} must be a non-negative number`);
    }
    if (!Number.isInteger(limit) || limit <= 0) problems.push('limit must be a positive integer');
    if (after !== undefined && !/^\d+$/.test(after)) problems.push('cursor must come from a previous page');
    if (problems.length > 0) throw new InvalidInputError('stale job query', problems);

    const picked = await this.em().execute<{ pk: string }[]>(sql.SELECT_STALE_JOBS, [
      after ?? '0',
      new Date(now.getTime() - staleAfterMs).toISOString(),
      new Date(now.getTime() - heldAfterMs).toISOString(),
      now.toISOString(),
      limit,
    ]);
    const rows =
      picked.length === 0
        ? []
        : await this.em().find(
            JobEntity,
            { pk: { $in: picked.map((row) => String(row.pk)) } },
            { orderBy: { pk: 'asc' } },
          );
    const last = rows.at(-1);
    return {
      jobs: rows.map((row) => ({ ...toJob(row), updatedAt: row.updatedAt })),
      cursor: picked.length === limit && last ? String(last.pk) : undefined,
    };
  }

  /**
   * The forge says a job we count as waiting is held again (GitLab resets a skipped job to
   * `created`, and sends no hook for either move): it stops counting until released. Only if
   * no event touched the job since `lastEventAt` (the `updatedAt` it was listed with) and it
   * has not started nor ended, so a webhook processed after the lookup wins. True if held now.
   */
  async holdJob(platform: string, id: string, lastEventAt: Date): Promise<boolean> {
    checkArgument(argumentSchemas.platform, 'job', platform);
    checkArgument(argumentSchemas.jobId, 'job', id);
    checkArgument(argumentSchemas.date('lastEventAt'), 'job', lastEventAt);
    const rows = await this.em().execute(sql.HOLD_JOB, [platform, id, lastEventAt.toISOString()]);
    if (rows.length === 0) return false;
    this.pressureSignal.raise();
    return true;
  }

  /** Reconciliation looked the held job up and found it still held: it is not listed again for a while. */
  async markJobChecked(platform: string, id: string): Promise<void> {
    checkArgument(argumentSchemas.platform, 'job', platform);
    checkArgument(argumentSchemas.jobId, 'job', id);
    await this.em().execute(sql.MARK_JOB_CHECKED, [platform, id]);
  }

  /**
   * Sets startedAt unless already set; NotExistError when the job is not stored. A started job
   * is not held: a held job is released and assigned a flavor.
   */
  async updateJobStarted(
    platform: string,
    id: string,
    startedAt: Date,
    raw?: Record<string, unknown>,
  ): Promise<void> {
    checkJobUpdate(platform, id, 'startedAt', startedAt, raw);
    const at = startedAt.toISOString();
    await this.updateOrRelease({ kind: 'started', platform, id, at, raw }, sql.RELEASE_JOB_STARTED, () => {
      const payload = rawParameter(raw);
      return [at, payload, payload, platform, id];
    });
  }

  /**
   * Sets completedAt unless already set; NotExistError when the job is not stored. A completion
   * that reports when the job started may pass `startedAt`: it fills a start never recorded,
   * in the same statement. A completed job is not held.
   */
  async updateJobCompleted(
    platform: string,
    id: string,
    completedAt: Date,
    raw?: Record<string, unknown>,
    startedAt?: Date,
  ): Promise<void> {
    checkJobUpdate(platform, id, 'completedAt', completedAt, raw);
    if (startedAt !== undefined) checkArgument(argumentSchemas.date('startedAt'), 'job', startedAt);
    const at = completedAt.toISOString();
    const started = startedAt?.toISOString() ?? null;
    await this.updateOrRelease(
      { kind: 'completed', platform, id, at, startedAt: started, raw },
      sql.RELEASE_JOB_COMPLETED,
      () => {
        const payload = rawParameter(raw);
        return [at, started, payload, payload, platform, id];
      },
    );
  }

  /**
   * The forge offers the job to runners now (GitLab `pending`, GitHub `queued`): a held job is
   * released, assigned the best flavor that fits it and counted; `raw` is merged as by the other
   * updates. NotExistError when the job is not stored.
   */
  async updateJobWaiting(platform: string, id: string, raw?: Record<string, unknown>): Promise<void> {
    checkArgument(argumentSchemas.platform, 'job', platform);
    checkArgument(argumentSchemas.jobId, 'job', id);
    if (raw !== undefined) checkArgument(argumentSchemas.raw, 'job', raw);
    await this.updateOrRelease({ kind: 'waiting', platform, id, raw }, sql.RELEASE_JOB_WAITING, () => {
      const payload = rawParameter(raw);
      return [payload, payload, platform, id];
    });
  }

  /**
   * Adds action payloads to a stored job's `raw`, keeping any already stored for an action:
   * for an event that carries no new state (a late `queued`, a held job's payloads). A held job
   * stays held. NotExistError when not stored.
   */
  async mergeJobRaw(platform: string, id: string, raw: Record<string, unknown>): Promise<void> {
    checkArgument(argumentSchemas.platform, 'job', platform);
    checkArgument(argumentSchemas.jobId, 'job', id);
    checkArgument(argumentSchemas.raw, 'job', raw);
    if (!(await this.jobUpdates.load({ kind: 'merge', platform, id, raw }))) throw new NotExistError();
  }

  /**
   * Records `update`, batched with the updates other calls make meanwhile; it leaves held jobs
   * alone. When it matched nothing, the job is held (or missing): `release` then updates it
   * under the assignment lock, so a flavor added at the same moment cannot miss it.
   * NotExistError when neither matched a row.
   */
  private async updateOrRelease(
    update: JobUpdate,
    release: string,
    releaseValues: () => unknown[],
  ): Promise<void> {
    if (await this.jobUpdates.load(update)) return;
    const released = await this.transaction(async (em) => {
      await em.execute(sql.LOCK_FOR_JOB_INSERT, [sql.ASSIGNMENT_LOCK_KEY]);
      return em.execute(release, releaseValues());
    });
    if (released.length === 0) throw new NotExistError();
    this.pressureSignal.raise();
  }

  /** One `record_job_events` statement for a batch: for each update, whether it matched a row. */
  private async recordJobUpdates(updates: readonly JobUpdate[]): Promise<(boolean | Error)[]> {
    const events = jsonbText(
      updates.map((update, n) => ({
        n,
        kind: update.kind,
        platform: update.platform,
        id: update.id,
        at: update.at,
        started_at: update.startedAt,
        raw: update.raw,
      })),
    );
    let matched: { event: number; counted: boolean }[];
    try {
      matched = await pRetry(
        async () =>
          (await this.runStatement<{ event: number; counted: boolean }>(sql.RECORD_JOB_EVENTS, [events]))
            .rows,
        CONFLICT_RETRY,
      );
    } catch (error) {
      if (updates.length > 1) return splitBatch(updates, (update) => this.recordJobUpdates([update]));
      return [error instanceof Error ? error : new Error(String(error))];
    }
    if (matched.some((row) => row.counted)) this.pressureSignal.raise();
    const found = new Set(matched.map((row) => row.event));
    return updates.map((_, n) => found.has(n));
  }

  /** Incomplete jobs per platform that has any, by phase; `unassigned` are those no flavor takes. */
  async countIncompleteJobs(): Promise<IncompleteJobCounts[]> {
    const result = await this.runStatement<IncompleteJobCounts>(sql.COUNT_INCOMPLETE_JOBS, [
      this.staleAfterMs,
    ]);
    return result.rows;
  }

  /**
   * Deletes at most `limit` jobs completed (and last written) before `before`, oldest first, and says how many: one
   * short statement that skips rows being written rather than waiting for them, so the worker's
   * retention pass can run beside ingestion in batches. Incomplete jobs are never deleted.
   */
  async deleteJobsCompletedBefore(before: Date, limit: number): Promise<number> {
    return this.expire(sql.DELETE_JOBS_COMPLETED_BEFORE, before, limit);
  }

  /**
   * Drops the webhook payloads (`raw` becomes `{}`) of at most `limit` jobs completed (and last
   * written) before `before`, oldest first, as `deleteJobsCompletedBefore` deletes; the rows stay for reports.
   */
  async dropRawPayloadsCompletedBefore(before: Date, limit: number): Promise<number> {
    return this.expire(sql.DROP_RAW_COMPLETED_BEFORE, before, limit);
  }

  private async expire(statement: NamedStatement, before: Date, limit: number): Promise<number> {
    checkArgument(argumentSchemas.date('before'), 'retention', before);
    if (!Number.isInteger(limit) || limit < 1) {
      throw new InvalidInputError('retention', ['limit must be a positive whole number']);
    }
    const result = await this.runStatement(statement, [before.toISOString(), limit]);
    return result.rowCount ?? 0;
  }

  /** How many assigned jobs started in the range: the rows `readWaitingTimes` yields. */
  async countStartedJobs(range: StartedRange): Promise<number> {
    checkStartedRange(range);
    return this.withDriverClient(async (client) => {
      const result = await client.query<{ jobs: number }>(sql.COUNT_STARTED_JOBS, [range.from, range.to]);
      return result.rows[0]?.jobs ?? 0;
    });
  }

  /**
   * The wait of every assigned job started in the range, sorted by UTC day, platform and wait,
   * in batches of at most `batchSize` read through a cursor: a report over months of jobs holds
   * one batch at a time. Stopping early (`break`) closes the cursor.
   */
  async *readWaitingTimes(
    range: StartedRange,
    batchSize: number = WAITING_TIMES_BATCH,
  ): AsyncGenerator<WaitingTime[], void, undefined> {
    checkStartedRange(range);
    if (!Number.isInteger(batchSize) || batchSize <= 0) {
      throw new InvalidInputError('batch size', ['batch size must be a positive integer']);
    }
    const { client, release } = await this.driverClient();
    try {
      const cursor = client.query(
        new Cursor<{ day: string; platform: string; waiting: number }>(sql.SELECT_WAITING_TIMES, [
          range.from,
          range.to,
        ]),
      );
      try {
        for (;;) {
          const rows = await cursor.read(batchSize);
          if (rows.length === 0) return;
          yield rows.map((row) => ({ day: row.day, platform: row.platform, seconds: row.waiting }));
        }
      } finally {
        await cursor.close();
      }
    } finally {
      await release();
    }
  }

  // Pressure

  /** Pressure per flavor of a platform; no names → every flavor. Unknown names are left out. */
  async getPressures(platform: string, ...flavors: string[]): Promise<Record<string, number>> {
    checkArgument(argumentSchemas.platform, 'platform', platform);
    const names = flavors.length === 0 ? null : JSON.stringify(flavors);
    const statement = names === null ? sql.SELECT_ALL_PRESSURES : sql.SELECT_PRESSURES;
    const { rows } = await this.runStatement<{ name: string; pressure: number }>(statement, [
      platform,
      names,
      this.staleAfterMs,
    ]);
    return Object.fromEntries(rows.map((row) => [row.name, row.pressure]));
  }

  /**
   * Runs `work` on a `pg` client borrowed from the ORM's own pool: for a prepared statement,
   * which the ORM's query layer cannot issue, on the hot read path.
   */
  /**
   * Runs a hot-path statement on a driver client: prepared under its name, or unnamed when
   * prepared statements are off (DATABASE_PREPARED_STATEMENTS).
   */
  private runStatement<R extends pg.QueryResultRow = pg.QueryResultRow>(
    statement: NamedStatement,
    values: unknown[],
  ): Promise<pg.QueryResult<R>> {
    const { name, text } = statement;
    return this.withDriverClient((client) =>
      client.query<R>(this.preparedStatements ? { name, text, values } : { text, values }),
    );
  }

  private async withDriverClient<T>(work: (client: pg.ClientBase) => Promise<T>): Promise<T> {
    const { client, release } = await this.driverClient();
    try {
      return await work(client);
    } finally {
      await release();
    }
  }

  private async driverClient(): Promise<{ client: pg.ClientBase; release: () => Promise<void> }> {
    const knex = (this.orm.em as EntityManager).getKnex();
    const client = (await knex.client.acquireConnection()) as pg.ClientBase;
    return { client, release: () => knex.client.releaseConnection(client) };
  }

  /** Signals after any committed change that may move a pressure; one LISTEN connection per process. */
  subscribePressureChanges(): PressureSubscription {
    const subscription = subscribeToPressure(this.listenUrl, () => this.subscriptions.delete(subscription));
    this.subscriptions.add(subscription);
    return subscription;
  }

  // Auth tokens

  /**
   * A new random 32-byte token for `name`; only its SHA-256 is stored. ExistError on a taken
   * name; InvalidInputError for a name that is empty, too long or holds control characters, or
   * an unknown scope.
   */
  async createAuthToken(name: string, options: CreateAuthTokenOptions = {}): Promise<Uint8Array> {
    checkArgument(argumentSchemas.newTokenName, 'token name', name);
    const scope = checkScope(options.scope);
    const token = new Uint8Array(randomBytes(TOKEN_BYTES));
    try {
      await this.em().insert(AuthTokenEntity, { name, tokenHash: hashToken(token), scope });
    } catch (error) {
      if (error instanceof UniqueConstraintViolationException) throw new ExistError();
      throw error;
    }
    return token;
  }

  /** The name of the token's owner; NotExistError for an unknown or deleted token. */
  async verifyAuthToken(token: Uint8Array): Promise<string> {
    return (await this.lookupAuthToken(token)).name;
  }

  /** The token's name and scope; NotExistError for an unknown or deleted token. */
  async lookupAuthToken(token: Uint8Array): Promise<AuthTokenInfo> {
    if (!(token instanceof Uint8Array)) throw new InvalidInputError('token', ['token must be a Uint8Array']);
    if (token.length !== TOKEN_BYTES) throw new NotExistError();
    const row = await this.em().findOne(AuthTokenEntity, { tokenHash: hashToken(token) });
    if (row === null) throw new NotExistError();
    return { name: row.name, scope: row.scope ?? 'general' };
  }

  /** The scope of the token called `name`, or undefined when there is none (any more). */
  async authTokenScope(name: string): Promise<TokenScope | undefined> {
    const row = await this.em().findOne(AuthTokenEntity, { name }, { fields: ['scope'] });
    return row === null ? undefined : (row.scope ?? 'general');
  }

  /**
   * Stores a token known only by its SHA-256 digest, the value `verifyAuthToken` looks up: how
   * the original planner's tokens, hashed the same way, keep working after an import (with the
   * `general` scope they had there). ExistError when the name or the digest is already stored.
   */
  async addAuthTokenHash(name: string, tokenHash: Uint8Array): Promise<void> {
    checkArgument(argumentSchemas.newTokenName, 'token name', name);
    if (!(tokenHash instanceof Uint8Array) || tokenHash.length !== TOKEN_BYTES) {
      throw new InvalidInputError('token hash', [`token hash must be ${TOKEN_BYTES} bytes`]);
    }
    try {
      await this.em().insert(AuthTokenEntity, { name, tokenHash: Buffer.from(tokenHash) });
    } catch (error) {
      if (error instanceof UniqueConstraintViolationException) throw new ExistError();
      throw error;
    }
  }

  /** The name of the token whose SHA-256 digest is `tokenHash`, or undefined. */
  async authTokenNameOfHash(tokenHash: Uint8Array): Promise<string | undefined> {
    const row = await this.em().findOne(AuthTokenEntity, { tokenHash: Buffer.from(tokenHash) });
    return row?.name;
  }

  /**
   * Deletes the token (a missing one is a no-op). Every planner process listening ends the
   * pressure streams opened with it: the deletion notifies `auth_token_revoked` as it commits.
   */
  async deleteAuthToken(name: string): Promise<void> {
    checkArgument(argumentSchemas.tokenName, 'token name', name);
    await this.em().nativeDelete(AuthTokenEntity, { name });
  }

  /**
   * Calls `listener` with the name of every token deleted or changed from now on, by any
   * process, or with undefined when any token may have changed (see `TokenRevocationListener`).
   * Shares the process's LISTEN connection with `subscribePressureChanges`.
   */
  subscribeTokenRevocations(listener: TokenRevocationListener): TokenRevocationSubscription {
    const subscription = subscribeToTokenRevocations(this.listenUrl, listener, () =>
      this.subscriptions.delete(subscription),
    );
    this.subscriptions.add(subscription);
    return subscription;
  }

  /** Every token's name and scope, by name. */
  async listAuthTokenInfos(): Promise<AuthTokenInfo[]> {
    const rows = await this.em().find(
      AuthTokenEntity,
      {},
      { orderBy: { name: 'asc' }, fields: ['name', 'scope'] },
    );
    return rows.map((row) => ({ name: row.name, scope: row.scope ?? 'general' }));
  }

  async listAuthTokens(): Promise<string[]> {
    const rows = await this.em().find(AuthTokenEntity, {}, { orderBy: { name: 'asc' }, fields: ['name'] });
    return rows.map((row) => row.name);
  }
}
