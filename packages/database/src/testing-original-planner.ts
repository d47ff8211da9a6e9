/**
 * A database of the original Go planner (canonical/github-runner-operators) for import tests:
 * the schema of test/fixtures/original-planner-schema.sql, and rows written the way the original
 * writes them (read from its internal/database/database.go, internal/planner/server.go and
 * consumer.go). Exported by `@runner-planner/database/testing` so the CLI's import tests build
 * the same original database as this package's.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import pg from 'pg';

export interface OriginalFlavor {
  name: string;
  platform?: string;
  labels: string[];
  priority?: number;
  isDisabled?: boolean;
  minimumPressure?: number;
}

export interface OriginalJob {
  id: string;
  /** As in the webhook: the original lowercases them and drops `self-hosted` and `linux`. */
  labels: string[];
  createdAt: Date;
  startedAt?: Date | null;
  completedAt?: Date | null;
  /** Webhook bodies by action; stored as their JSON text, as the consumer's extractRaw does. */
  payloads?: Record<string, unknown>;
}

export interface OriginalPlanner {
  url: string;
  sql: pg.Pool;
  /** The original's CreateAuthToken: 32 random bytes, hex(sha256) stored; returns the token as its API handed it out (base64url). */
  createToken(name: string): Promise<string>;
  addFlavor(flavor: OriginalFlavor): Promise<void>;
  addJob(job: OriginalJob): Promise<void>;
  close(): Promise<void>;
}

// One level below the package root from src/ and from dist/ alike.
const SCHEMA = new URL('../test/fixtures/original-planner-schema.sql', import.meta.url);

/** Builds the original's schema in the (empty) database at `url`. */
export async function createOriginalPlanner(url: string): Promise<OriginalPlanner> {
  const sql = new pg.Pool({ connectionString: url, max: 2 });
  await sql.query(await readFile(SCHEMA, 'utf8'));
  return {
    url,
    sql,
    async createToken(name) {
      const token = randomBytes(32);
      const hash = createHash('sha256').update(token).digest('hex');
      await sql.query('INSERT INTO auth (name, token) VALUES ($1, $2)', [name, hash]);
      return token.toString('base64url');
    },
    async addFlavor(flavor) {
      await sql.query(
        `INSERT INTO flavor (platform, name, labels, priority, is_disabled, minimum_pressure)
         VALUES ($1, $2, $3, $4, $5, $6)`,
        [
          flavor.platform ?? 'github',
          flavor.name,
          flavor.labels.map((label) => label.toLowerCase()),
          flavor.priority ?? 0,
          flavor.isDisabled ?? false,
          flavor.minimumPressure ?? 0,
        ],
      );
    },
    async addJob(job) {
      const labels = job.labels
        .map((label) => label.toLowerCase())
        .filter((label) => label !== 'self-hosted' && label !== 'linux');
      const raw = Object.fromEntries(
        Object.entries(job.payloads ?? {}).map(([action, body]) => [action, JSON.stringify(body)]),
      );
      // The original assigns on insert: enabled flavor of the platform covering the labels, highest priority.
      await sql.query(
        `INSERT INTO job (platform, id, labels, created_at, started_at, completed_at, raw, assigned_flavor)
         SELECT 'github', $1, $2::text[], $3, $4, $5::timestamptz, $6,
                CASE WHEN $5::timestamptz IS NULL THEN (
                  SELECT f.name FROM flavor AS f
                  WHERE NOT f.is_disabled AND f.platform = 'github' AND f.labels @> $2::text[]
                  ORDER BY f.priority DESC, random() LIMIT 1) END`,
        [job.id, labels, job.createdAt, job.startedAt ?? null, job.completedAt ?? null, JSON.stringify(raw)],
      );
    },
    close: () => sql.end(),
  };
}

/** A GitHub `workflow_job` webhook body with the fields the parsers read. */
export function workflowJobPayload(
  action: string,
  job: { id: number; labels: string[]; status?: string; createdAt: Date; startedAt?: Date },
): Record<string, unknown> {
  const started = job.startedAt ?? null;
  return {
    action,
    workflow_job: {
      id: job.id,
      run_id: job.id * 10,
      labels: job.labels,
      status: job.status ?? action,
      created_at: job.createdAt.toISOString(),
      started_at: (started ?? job.createdAt).toISOString(),
      completed_at: null,
      runner_id: started === null ? null : 7,
      runner_name: started === null ? null : 'runner-7',
    },
    repository: { full_name: 'acme/widgets' },
  };
}
