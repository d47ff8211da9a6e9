/**
 * Reconcile pass over 10,000 stale jobs (issue 5): 7,000 GitHub and 3,000 GitLab jobs whose last
 * event is an hour old, looked up on the fake forge APIs by the real @octokit and @gitbeaker
 * clients. Reports the pass duration and the API calls made, with the fakes answering at once
 * and with a simulated per-request latency.
 *
 *   BENCH_DATABASE_URL  admin URL of a PostgreSQL server (default postgres://postgres@127.0.0.1:5432/postgres)
 *   BENCH_REDIS_URL     Redis (default redis://127.0.0.1:6379)
 *   BENCH_STALE_JOBS    stale jobs (default 10000)
 *   BENCH_BATCH_SIZE    RECONCILE_BATCH_SIZE (default 100)
 *   BENCH_LATENCY_MS    simulated forge latency of the second run (default 20)
 */
import { cpus, loadavg } from 'node:os';
import { Database, migrate, type NewJob } from '@runner-planner/database';
import { openTestSql } from '@runner-planner/database/testing';
import {
  createTestDatabase,
  createTestQueuePrefix,
  startFakeGitHub,
  startFakeGitLab,
} from '@runner-planner/testkit';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import {
  createGitHubClient,
  createReconcileMetrics,
  GitLabJobLookup,
  type ReconcileReport,
  reconcileOnce,
} from '../src/index.js';

const env = process.env;
const adminUrl = env.BENCH_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
const redisUrl = env.BENCH_REDIS_URL || 'redis://127.0.0.1:6379';
const staleJobs = Number(env.BENCH_STALE_JOBS || 10_000);
const batchSize = Number(env.BENCH_BATCH_SIZE || 100);
const latencyMs = Number(env.BENCH_LATENCY_MS || 20);
const REPO = 'octo/bench';
const PROJECT = 4242;

type Truth = 'completed' | 'running' | 'queued' | 'missing';
const truthOf = (i: number): Truth =>
  (['completed', 'completed', 'running', 'queued', 'missing'] as const)[i % 5] ?? 'queued';

async function run(label: string, delayMs: number) {
  const database = await createTestDatabase('bench_reconcile', { adminUrl });
  const queue = createTestQueuePrefix('bench-reconcile');
  const github = await startFakeGitHub();
  const gitlab = await startFakeGitLab();
  const redis = new Redis(redisUrl);
  await migrate(database.url);
  const db = await Database.connect(database.url);
  try {
    const startedAt = new Date(Date.now() - 50 * 60_000).toISOString();
    const finishedAt = new Date(Date.now() - 40 * 60_000).toISOString();
    const jobs: NewJob[] = [];
    for (let i = 0; i < staleJobs; i += 1) {
      const id = 1_000_000 + i;
      const truth = truthOf(i);
      const platform = i % 10 < 7 ? 'github' : 'gitlab';
      if (platform === 'github' && truth !== 'missing') {
        github.setJob(REPO, {
          id,
          status: truth === 'completed' ? 'completed' : truth === 'running' ? 'in_progress' : 'queued',
          started_at: truth === 'queued' ? null : startedAt,
          completed_at: truth === 'completed' ? finishedAt : null,
        });
      }
      if (platform === 'gitlab' && truth !== 'missing') {
        gitlab.setJob(PROJECT, {
          id,
          tag_list: [],
          status: truth === 'completed' ? 'success' : truth === 'running' ? 'running' : 'pending',
          started_at: truth === 'queued' ? null : startedAt,
          finished_at: truth === 'completed' ? finishedAt : null,
        });
      }
      jobs.push({
        platform,
        id: String(id),
        labels: [],
        createdAt: new Date(Date.now() - 60 * 60_000),
        startedAt: null,
        completedAt: null,
        raw:
          platform === 'github'
            ? { queued: { action: 'queued', repository: { full_name: REPO }, workflow_job: { id } } }
            : { pending: { build_id: id, project_id: PROJECT, build_status: 'pending' } },
      });
    }
    for (let i = 0; i < jobs.length; i += 500)
      await Promise.all(jobs.slice(i, i + 500).map((j) => db.addJob(j)));
    await setLastEvent(database.url);
    github.setDelay(delayMs);
    gitlab.setDelay(delayMs);

    const report: ReconcileReport = await reconcileOnce({
      db,
      redis,
      prefix: queue.prefix,
      metrics: createReconcileMetrics(new Registry()),
      github: createGitHubClient({ baseUrl: github.url, token: github.token }),
      githubHooks: [],
      gitlab: new GitLabJobLookup({ url: gitlab.url, token: gitlab.token }),
      intervalMs: 5 * 60_000,
      staleAfterMs: 15 * 60_000,
      batchSize,
    });
    const open = await countOpen(database.url);
    const expectedOpen = jobs.filter((_, i) => ['running', 'queued'].includes(truthOf(i))).length;
    return {
      label,
      delayMs,
      seconds: report.durationSeconds,
      githubCalls: github.requests.length,
      gitlabCalls: gitlab.requests.length,
      checked: report.stale.checked,
      corrected: report.stale.corrected,
      errors: report.stale.errors,
      open,
      expectedOpen,
    };
  } finally {
    await db.close();
    redis.disconnect();
    await github.close();
    await gitlab.close();
    await queue.cleanup();
    await database.drop();
  }
}

async function setLastEvent(url: string) {
  const sql = openTestSql(url, { max: 1 });
  try {
    await sql.query(`UPDATE job SET updated_at = now() - interval '1 hour'`);
  } finally {
    await sql.end();
  }
}

async function countOpen(url: string): Promise<number> {
  const sql = openTestSql(url, { max: 1 });
  try {
    const { rows } = await sql.query<{ n: string }>(
      'SELECT count(*) AS n FROM job WHERE completed_at IS NULL',
    );
    return Number(rows[0]?.n ?? 0);
  } finally {
    await sql.end();
  }
}

const load = loadavg()
  .map((n) => n.toFixed(2))
  .join(' ');
console.log(
  `reconcile bench: ${staleJobs} stale jobs, batch ${batchSize}, ${cpus().length} CPUs, load ${load}`,
);
for (const [label, delay] of [
  ['fake answers at once', 0],
  [`fake answers after ${latencyMs} ms`, latencyMs],
] as const) {
  const result = await run(label, delay);
  const calls = result.githubCalls + result.gitlabCalls;
  console.log(
    `${result.label}: ${result.seconds.toFixed(2)} s, ${calls} API calls (GitHub ${result.githubCalls}, GitLab ${result.gitlabCalls}), ` +
      `${(calls / result.seconds).toFixed(0)} calls/s; checked ${result.checked}, corrected ${JSON.stringify(result.corrected)}, ` +
      `errors ${result.errors}; open after the pass ${result.open} (true ${result.expectedOpen})`,
  );
}
console.log(
  `load at end ${loadavg()
    .map((n) => n.toFixed(2))
    .join(' ')}`,
);
