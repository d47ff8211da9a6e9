/**
 * Moving over from the original Go planner (canonical/github-runner-operators): its flavors,
 * auth tokens and incomplete jobs, read from a database its migrations made
 * (`internal/database/migrations`), written here through `Database` so that every domain rule
 * applies as if they had been added through the API or their webhooks had arrived.
 *
 * Tokens carry over as they are: the original stores the hex SHA-256 of a token's 32 random
 * bytes, the very digest `Database.verifyAuthToken` looks up (stored as bytes), and both
 * planners hand a token out as those bytes in base64url. So a client keeps its token.
 *
 * Idempotent: what is already here is counted, not written again, so a second run changes
 * nothing and a run that stopped half-way is completed by the next one. Conflicts that would
 * need an operator's decision (a flavor or token of the same name with other contents) are
 * found before anything is written.
 */
import {
  type Flavor,
  InvalidInputError,
  type NewJob,
  PayloadError,
  parseFlavor,
  parseGitHubWorkflowJob,
  stripImplicitLabels,
} from '@runner-planner/core';
import { redactUrl } from '@runner-planner/process';
import pg from 'pg';
import type { Database } from './database.js';
import { ExistError } from './errors.js';

/** A one-line reason the import did not start, or stopped before writing anything it could foresee. */
export class ImportOriginalError extends Error {
  override readonly name = 'ImportOriginalError';
}

export type ImportStage = 'flavors' | 'tokens' | 'jobs';

export interface ImportOriginalOptions {
  /** Connection URL of the original planner's PostgreSQL (nothing is written there), or the database opened. */
  from: string | OriginalDatabase;
  /** runner-planner's store, migrated. */
  db: Database;
  /** `GITHUB_SELF_HOSTED_ONLY`: GitHub jobs not asking for a self-hosted runner are skipped, as the worker ignores their webhooks. Default true. */
  githubSelfHostedOnly?: boolean;
  /** `GITHUB_IMPLICIT_LABELS`, stripped from GitHub jobs' labels like the worker does. */
  githubImplicitLabels?: readonly string[];
  /** Called as items are done; `total` of the stage is known from the start. */
  onProgress?: (progress: { stage: ImportStage; done: number; total: number }) => void;
  /** Jobs read and written per round trip. Default 500. */
  jobBatchSize?: number;
}

export interface SkippedItem {
  /** Flavor or token name, or `platform/id` of a job. */
  item: string;
  reason: string;
}

export interface ImportTally {
  imported: number;
  /** Already here with the same contents (an earlier run, or added here by hand). */
  present: number;
  skipped: SkippedItem[];
}

export interface ImportOriginalSummary {
  /** The source's golang-migrate version (`schema_migrations`), null when it has no such table. */
  sourceVersion: number | null;
  flavors: ImportTally;
  tokens: ImportTally;
  jobs: ImportTally;
  /** Completed jobs of the source, which are history and are left there. */
  completedJobsLeft: number;
}

/** The columns this import reads, by table; the original's later migrations may add others. */
const REQUIRED_COLUMNS: Record<string, readonly string[]> = {
  auth: ['name', 'token'],
  flavor: ['platform', 'name', 'labels', 'priority', 'is_disabled', 'minimum_pressure'],
  job: ['platform', 'id', 'labels', 'created_at', 'started_at', 'completed_at', 'raw'],
};
/** Tables only a runner-planner database has: pointing the import at our own database is a mistake worth naming. */
const OWN_TABLES = ['auth_token', 'flavor_counter'];

const SOURCE_SQL = {
  columns: `
    SELECT c.relname AS table_name, a.attname AS column_name
    FROM pg_catalog.pg_class AS c
    JOIN pg_catalog.pg_attribute AS a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    WHERE c.relkind IN ('r', 'p') AND c.relname = ANY($1::text[]) AND pg_catalog.pg_table_is_visible(c.oid)`,
  hasMigrations: "SELECT to_regclass('schema_migrations') IS NOT NULL AS present",
  migrations: 'SELECT version::text AS version, dirty FROM schema_migrations LIMIT 1',
  flavors: `
    SELECT platform, name, labels, priority, is_disabled, minimum_pressure
    FROM flavor ORDER BY name`,
  tokens: 'SELECT name, token FROM auth ORDER BY name',
  jobCounts: `
    SELECT count(*) FILTER (WHERE completed_at IS NULL)::integer AS incomplete,
           count(*) FILTER (WHERE completed_at IS NOT NULL)::integer AS completed
    FROM job`,
  // Ordered by the column, not by the text alias of the same name (which would sort 10 before 9).
  jobPage: `
    SELECT job.pk::text AS pk, platform, id, labels, created_at, started_at, raw
    FROM job WHERE completed_at IS NULL AND job.pk > $1::bigint
    ORDER BY job.pk LIMIT $2`,
};

interface SourceFlavor {
  platform: string;
  name: string;
  labels: string[];
  priority: number;
  is_disabled: boolean;
  minimum_pressure: number;
}

interface SourceToken {
  name: string;
  token: string;
}

interface SourceJob {
  pk: string;
  platform: string;
  id: string;
  labels: string[];
  created_at: Date;
  started_at: Date | null;
  raw: unknown;
}

/** The original's `CreateAuthToken`: `hex(sha256(token))`. Its earliest versions stored other values. */
const HEX_SHA256 = /^[0-9a-f]{64}$/i;

const DEFAULT_JOB_BATCH = 500;

/** A query on the source; its failures become ImportOriginalError. */
type Read = (text: string, values?: unknown[]) => Promise<unknown[]>;

const emptyTally = (): ImportTally => ({ imported: 0, present: 0, skipped: [] });

function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // Node reports a refused connection to a name with several addresses as an AggregateError without a message.
  return error.message || (error as NodeJS.ErrnoException).code || error.name;
}

/**
 * The original planner's database, connected and checked: it holds the original's tables and
 * was not left dirty by a failed migration. Everything is read in one snapshot, so jobs the
 * original records meanwhile are not half-seen. Nothing is written to it.
 */
export class OriginalDatabase {
  /** A query on the snapshot; failures become ImportOriginalError. */
  readonly read: Read;

  private constructor(
    private readonly client: pg.Client,
    /** The URL without its password, for messages. */
    readonly url: string,
    /** golang-migrate's version (`schema_migrations`), null when it has no such table. */
    readonly schemaVersion: number | null,
  ) {
    this.read = reader(client);
  }

  /** ImportOriginalError when `from` is not a PostgreSQL URL, cannot be reached, or is not the original's database. */
  static async open(from: string): Promise<OriginalDatabase> {
    if (!/^postgres(ql)?:\/\//.test(from)) {
      // Not echoed: a mistyped URL may still hold a password.
      throw new ImportOriginalError(
        "the original planner's database must be given as a postgres:// or postgresql:// URL",
      );
    }
    const url = redactUrl(from);
    const client = new pg.Client({
      connectionString: from,
      connectionTimeoutMillis: 10_000,
      application_name: 'runner-planner import-original',
    });
    // A connection the server drops surfaces as the failing query's rejection; without a
    // listener the client's 'error' event would crash the process instead.
    client.on('error', () => {});
    try {
      await client.connect();
    } catch (error) {
      throw new ImportOriginalError(
        `cannot connect to the original planner's database at ${url}: ${describeError(error)}`,
      );
    }
    try {
      const read = reader(client);
      await read('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      return new OriginalDatabase(client, url, await checkSourceSchema(read, url));
    } catch (error) {
      await client.end().catch(() => {});
      throw error;
    }
  }

  async close(): Promise<void> {
    await this.client.query('ROLLBACK').catch(() => {});
    await this.client.end().catch(() => {});
  }
}

function reader(client: pg.Client): Read {
  return async (text, values) => {
    try {
      return (await client.query(text, values)).rows;
    } catch (error) {
      throw new ImportOriginalError(
        `reading the original planner's database failed: ${describeError(error)}`,
      );
    }
  };
}

/**
 * Copies flavors, tokens and incomplete jobs from the original planner's database: a URL, or one
 * opened with `OriginalDatabase.open` (to check it before touching anything here), which the
 * caller then closes. Throws ImportOriginalError, before writing anything, when the source cannot
 * be read or a flavor or token of the same name is here with other contents.
 */
export async function importOriginal(options: ImportOriginalOptions): Promise<ImportOriginalSummary> {
  const { from } = options;
  if (typeof from !== 'string') return copyFrom(from, options);
  const source = await OriginalDatabase.open(from);
  try {
    return await copyFrom(source, options);
  } finally {
    await source.close();
  }
}

async function copyFrom(
  source: OriginalDatabase,
  options: ImportOriginalOptions,
): Promise<ImportOriginalSummary> {
  const { db } = options;
  const { read } = source;
  const flavorRows = (await read(SOURCE_SQL.flavors)) as SourceFlavor[];
  const tokenRows = (await read(SOURCE_SQL.tokens)) as SourceToken[];
  const [counts = { incomplete: 0, completed: 0 }] = (await read(SOURCE_SQL.jobCounts)) as {
    incomplete: number;
    completed: number;
  }[];

  const flavors = emptyTally();
  const tokens = emptyTally();
  const flavorPlan = await planFlavors(db, flavorRows, flavors);
  const tokenPlan = await planTokens(db, tokenRows, tokens);
  const clashes = [...flavorPlan.clashes, ...tokenPlan.clashes];
  if (clashes.length > 0) {
    throw new ImportOriginalError(
      `nothing imported: ${clashes.join('; ')}. Delete or rename them here, then run the import again`,
    );
  }

  const progress = (stage: ImportStage, done: number, total: number) =>
    options.onProgress?.({ stage, done, total });
  await writeFlavors(db, flavorPlan.toAdd, flavors, (done) =>
    progress('flavors', done, flavorPlan.toAdd.length),
  );
  await writeTokens(db, tokenPlan.toAdd, tokens, (done) => progress('tokens', done, tokenPlan.toAdd.length));
  const jobs = await copyJobs(read, options, counts.incomplete, (done) =>
    progress('jobs', done, counts.incomplete),
  );
  return { sourceVersion: source.schemaVersion, flavors, tokens, jobs, completedJobsLeft: counts.completed };
}

/** The source's migration version; ImportOriginalError unless it holds the original's tables. */
async function checkSourceSchema(read: Read, database: string): Promise<number | null> {
  const wanted = [...Object.keys(REQUIRED_COLUMNS), ...OWN_TABLES];
  const rows = (await read(SOURCE_SQL.columns, [wanted])) as { table_name: string; column_name: string }[];
  const columns = new Map<string, Set<string>>();
  for (const row of rows) {
    const set = columns.get(row.table_name) ?? new Set<string>();
    set.add(row.column_name);
    columns.set(row.table_name, set);
  }
  if (OWN_TABLES.every((table) => columns.has(table)) && !columns.has('auth')) {
    throw new ImportOriginalError(
      `${database} is a runner-planner database, not the original planner's: give the original's URL`,
    );
  }
  const missing: string[] = [];
  for (const [table, required] of Object.entries(REQUIRED_COLUMNS)) {
    const present = columns.get(table);
    if (present === undefined) missing.push(`table ${table}`);
    else for (const column of required) if (!present.has(column)) missing.push(`column ${table}.${column}`);
  }
  if (missing.length > 0) {
    throw new ImportOriginalError(
      `${database} is not a database of the original planner (missing ${missing.join(', ')}); ` +
        'give the URL of the database its migrations created',
    );
  }
  const [migrations] = (await read(SOURCE_SQL.hasMigrations)) as { present: boolean }[];
  if (!migrations?.present) return null;
  const [migration] = (await read(SOURCE_SQL.migrations)) as { version: string; dirty: boolean }[];
  if (migration === undefined) return null;
  if (migration.dirty) {
    throw new ImportOriginalError(
      `the original planner's schema is dirty at migration ${migration.version} (a migration failed half-way): ` +
        'start the original planner once so it migrates, or repair schema_migrations, then run the import again',
    );
  }
  return Number(migration.version);
}

/** Matching compares labels as sets: the same labels in another order make the same flavor. */
function sameLabels(a: readonly string[], b: readonly string[]): boolean {
  const ours = new Set(a);
  const theirs = new Set(b);
  return ours.size === theirs.size && [...theirs].every((label) => ours.has(label));
}

/** How `ours` differs from `theirs`, one phrase per field; empty when they are the same flavor. */
function flavorDifferences(ours: Flavor, theirs: Flavor): string[] {
  const differences: string[] = [];
  const field = (what: string, here: unknown, there: unknown) =>
    differences.push(`${what} ${JSON.stringify(here)} here, ${JSON.stringify(there)} in the original`);
  if (ours.platform !== theirs.platform) field('platform', ours.platform, theirs.platform);
  if (!sameLabels(ours.labels, theirs.labels)) field('labels', ours.labels, theirs.labels);
  if (ours.priority !== theirs.priority) field('priority', ours.priority, theirs.priority);
  if (ours.isDisabled !== theirs.isDisabled) field('disabled', ours.isDisabled, theirs.isDisabled);
  if (ours.minimumPressure !== theirs.minimumPressure) {
    field('minimum pressure', ours.minimumPressure, theirs.minimumPressure);
  }
  if ((ours.runUntagged ?? null) !== (theirs.runUntagged ?? null)) {
    field('run untagged', ours.runUntagged, theirs.runUntagged);
  }
  return differences;
}

function flavorClash(name: string, differences: string[]): string {
  return `flavor "${name}" exists here with other settings (${differences.join(', ')})`;
}

async function planFlavors(
  db: Database,
  rows: SourceFlavor[],
  tally: ImportTally,
): Promise<{ toAdd: Flavor[]; clashes: string[] }> {
  const ours = new Map((await db.listAllFlavors()).map((flavor) => [flavor.name, flavor]));
  const toAdd: Flavor[] = [];
  const clashes: string[] = [];
  for (const row of rows) {
    let flavor: Flavor;
    try {
      flavor = parseFlavor({
        platform: row.platform,
        name: row.name,
        labels: row.labels,
        priority: row.priority,
        isDisabled: row.is_disabled,
        // The original has no check here; its pressure is GREATEST(minimum, count), so a negative minimum is 0.
        minimumPressure: Math.max(0, row.minimum_pressure),
      });
    } catch (error) {
      if (!(error instanceof InvalidInputError)) throw error;
      tally.skipped.push({ item: row.name, reason: error.message });
      continue;
    }
    const existing = ours.get(flavor.name);
    if (existing === undefined) toAdd.push(flavor);
    else {
      const differences = flavorDifferences(existing, flavor);
      if (differences.length === 0) tally.present++;
      else clashes.push(flavorClash(flavor.name, differences));
    }
  }
  return { toAdd, clashes };
}

interface TokenToAdd {
  name: string;
  hash: Buffer;
}

async function planTokens(
  db: Database,
  rows: SourceToken[],
  tally: ImportTally,
): Promise<{ toAdd: TokenToAdd[]; clashes: string[] }> {
  const names = new Set(await db.listAuthTokens());
  const toAdd: TokenToAdd[] = [];
  const clashes: string[] = [];
  for (const row of rows) {
    if (row.name.trim() === '') {
      tally.skipped.push({ item: row.name, reason: 'a token without a name cannot be managed here' });
      continue;
    }
    if (!HEX_SHA256.test(row.token)) {
      tally.skipped.push({
        item: row.name,
        reason:
          'stored by an early version of the original, not as a SHA-256 digest: create a new token here ' +
          `(runner-planner token create ${row.name}) and give it to its user`,
      });
      continue;
    }
    const hash = Buffer.from(row.token, 'hex');
    const holder = await db.authTokenNameOfHash(hash);
    if (holder === row.name) tally.present++;
    else if (holder !== undefined) {
      tally.skipped.push({ item: row.name, reason: `the same token is already here, named "${holder}"` });
    } else if (names.has(row.name)) {
      clashes.push(`token "${row.name}" exists here with another secret`);
    } else toAdd.push({ name: row.name, hash });
  }
  return { toAdd, clashes };
}

async function writeFlavors(
  db: Database,
  toAdd: Flavor[],
  tally: ImportTally,
  progress: (done: number) => void,
): Promise<void> {
  for (const [index, flavor] of toAdd.entries()) {
    try {
      // Also assigns the jobs already here that wait for a flavor like it.
      await db.addFlavor(flavor);
      tally.imported++;
    } catch (error) {
      if (!(error instanceof ExistError)) throw error;
      // Added here since the plan was made: fine if it is the same flavor.
      const differences = flavorDifferences(await db.getFlavor(flavor.name), flavor);
      if (differences.length > 0) throw new ImportOriginalError(flavorClash(flavor.name, differences));
      tally.present++;
    }
    progress(index + 1);
  }
}

async function writeTokens(
  db: Database,
  toAdd: TokenToAdd[],
  tally: ImportTally,
  progress: (done: number) => void,
): Promise<void> {
  for (const [index, token] of toAdd.entries()) {
    try {
      await db.addAuthTokenHash(token.name, token.hash);
      tally.imported++;
    } catch (error) {
      if (!(error instanceof ExistError)) throw error;
      if ((await db.authTokenNameOfHash(token.hash)) !== token.name) {
        throw new ImportOriginalError(
          `token "${token.name}" was created here while importing: run the import again`,
        );
      }
      tally.present++;
    }
    progress(index + 1);
  }
}

/**
 * The original keeps each action's payload as the text of its JSON body (`{"queued": "{…}"}`);
 * runner-planner keeps the payload itself, which reconciliation reads the repository from.
 */
function decodeRaw(raw: unknown): Record<string, unknown> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return {};
  const decoded: Record<string, unknown> = {};
  for (const [action, payload] of Object.entries(raw)) {
    decoded[action] = payload;
    if (typeof payload !== 'string') continue;
    try {
      const parsed: unknown = JSON.parse(payload);
      if (typeof parsed === 'object' && parsed !== null) decoded[action] = parsed;
    } catch {
      // Not JSON: kept as the text it is.
    }
  }
  return decoded;
}

type JobVerdict = { kind: 'job'; job: NewJob } | { kind: 'skip'; reason: string };

/**
 * The job as the worker would have recorded it from its latest webhook: GitHub's implicit (and
 * configured) labels stripped, a job not for a self-hosted runner left out when
 * `GITHUB_SELF_HOSTED_ONLY`, a job held by deployment protection rules recorded held.
 */
function jobFromSource(row: SourceJob, options: ImportOriginalOptions): JobVerdict {
  const raw = decodeRaw(row.raw);
  const job: NewJob = {
    platform: row.platform,
    id: row.id,
    labels: row.labels,
    createdAt: row.created_at,
    startedAt: row.started_at,
    completedAt: null,
    raw,
    held: false,
  };
  if (row.platform !== 'github') return { kind: 'job', job };
  job.labels = stripImplicitLabels(row.labels, options.githubImplicitLabels);
  const payload = raw.in_progress ?? raw.queued ?? raw.waiting;
  if (payload === undefined) return { kind: 'job', job };
  try {
    const outcome = parseGitHubWorkflowJob(payload, {
      selfHostedOnly: options.githubSelfHostedOnly ?? true,
      extraImplicitLabels: options.githubImplicitLabels ?? [],
      receivedAt: row.created_at,
    });
    if (outcome.kind === 'ignored') return { kind: 'skip', reason: outcome.reason };
    job.held = outcome.event.action === 'held' && row.started_at === null;
  } catch (error) {
    // A payload the parser cannot read says nothing more than the stored columns do.
    if (!(error instanceof PayloadError)) throw error;
  }
  return { kind: 'job', job };
}

async function copyJobs(
  read: Read,
  options: ImportOriginalOptions,
  total: number,
  progress: (done: number) => void,
): Promise<ImportTally> {
  const tally = emptyTally();
  const batch = options.jobBatchSize ?? DEFAULT_JOB_BATCH;
  let after = '0';
  let done = 0;
  for (;;) {
    const rows = (await read(SOURCE_SQL.jobPage, [after, batch])) as SourceJob[];
    if (rows.length === 0) break;
    after = rows.at(-1)?.pk ?? after;
    const writes: { item: string; written: Promise<void> }[] = [];
    for (const row of rows) {
      const item = `${row.platform}/${row.id}`;
      const verdict = jobFromSource(row, options);
      if (verdict.kind === 'skip') tally.skipped.push({ item, reason: verdict.reason });
      // Started together, the inserts share one statement (Database batches concurrent addJob calls).
      else writes.push({ item, written: options.db.addJob(verdict.job) });
    }
    const results = await Promise.allSettled(writes.map((write) => write.written));
    for (const [index, result] of results.entries()) {
      if (result.status === 'fulfilled') tally.imported++;
      else if (result.reason instanceof ExistError) tally.present++;
      else if (result.reason instanceof InvalidInputError) {
        tally.skipped.push({ item: writes[index]?.item ?? '', reason: result.reason.message });
      } else throw result.reason;
    }
    done += rows.length;
    progress(Math.min(done, total));
  }
  return tally;
}
