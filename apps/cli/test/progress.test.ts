import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Database } from '@runner-planner/database';
import { openTestSql } from '@runner-planner/database/testing';
import { startFakeGitHub, startFakeGitLab, type TestDatabase } from '@runner-planner/testkit';
import { beforeAll, describe, expect, it } from 'vitest';
import { CLI, type CliResult, runCli } from './support.js';
import { useCliWorld } from './world.js';

const world = useCliWorld('cli_progress');
const { cli } = world;
let database: TestDatabase;
let cwd: string;
let env: NodeJS.ProcessEnv;

// util-linux `script` runs a command on a pseudo-terminal and copies what it draws to stdout.
const SCRIPT = '/usr/bin/script';

/** Runs the CLI with a terminal as stdin, stdout and stderr, returning everything it drew. */
function onTerminal(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  const command = [process.execPath, CLI, ...args].map((word) => `'${word}'`).join(' ');
  return new Promise((resolve) => {
    execFile(
      SCRIPT,
      ['--quiet', '--return', '--command', command, '/dev/null'],
      { env: { ...env, ...extraEnv, COLUMNS: '120' }, cwd, timeout: 60_000 },
      (error, stdout, stderr) => {
        resolve({ code: error === null ? 0 : Number(error.code ?? 1), stdout, stderr });
      },
    );
  });
}

/** Bar frames: terminal escapes (cursor, line clearing), the bar's fill characters or its label. */
const barLike = (text: string) =>
  text.includes('\u001b[') || /[\u2588\u2591]|reading jobs|reconciling/.test(text);

const ROWS = 6_000; // more than one cursor batch (5,000)

beforeAll(async () => {
  ({ database, cwd, env } = world);
  expect((await cli('flavor', 'add', 'small', '--platform', 'github', '--labels', 'small')).code).toBe(0);
  expect((await cli('flavor', 'add', 'medium', '--platform', 'gitlab', '--labels', 'medium')).code).toBe(0);
  const sql = openTestSql(database.url, { max: 1 });
  try {
    // Completed jobs over three days and both platforms, waiting 0 to 599 s in a scattered order;
    // one in ten has no flavor and must not count.
    await sql.query(
      `INSERT INTO job (platform, id, labels, created_at, started_at, completed_at, assigned_flavor)
       SELECT CASE WHEN i % 2 = 0 THEN 'github' ELSE 'gitlab' END, i::text, '{}',
              start - ((i * 7919) % 600) * interval '1 second', start, start + interval '1 minute',
              CASE WHEN i % 10 = 9 THEN NULL WHEN i % 2 = 0 THEN 'small' ELSE 'medium' END
         FROM generate_series(1, $1::int) AS i,
              LATERAL (SELECT timestamptz '2026-03-01T00:00:00Z' + (i % 3) * interval '1 day'
                                + (i % 1440) * interval '1 minute' AS start) AS s`,
      [ROWS],
    );
  } finally {
    await sql.end();
  }
});

/** The same report straight from PostgreSQL's percentile_cont, as the oracle. */
async function expectedCsv(percentile: number): Promise<string> {
  const sql = openTestSql(database.url, { max: 1 });
  try {
    const { rows } = await sql.query<{ day: string; platform: string; jobs: string; waiting: number }>(
      `SELECT to_char(date_trunc('day', started_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD') AS day, platform,
              count(*) AS jobs,
              percentile_cont($1::float8) WITHIN GROUP
                (ORDER BY extract(epoch FROM started_at - created_at)) AS waiting
         FROM job
        WHERE started_at >= '2026-03-01' AND started_at < '2026-03-04' AND assigned_flavor IS NOT NULL
        GROUP BY date_trunc('day', started_at AT TIME ZONE 'UTC'), platform
        ORDER BY 1, 2`,
      [percentile / 100],
    );
    const lines = rows.map((row) => `${row.day},${row.platform},${row.jobs},${row.waiting.toFixed(1)}\n`);
    return `day,platform,jobs,p${percentile}_waiting_seconds\n${lines.join('')}`;
  } finally {
    await sql.end();
  }
}

describe('report waiting', () => {
  it('piped: prints only the CSV, matching PostgreSQL percentile_cont over every row', async () => {
    const result = await cli('report', 'waiting', '--from', '2026-03-01', '--to', '2026-03-04');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe(await expectedCsv(80));
    expect(result.stdout.trim().split('\n')).toHaveLength(1 + 3 * 2);
    expect(barLike(result.stdout)).toBe(false);
  });

  it.runIf(existsSync(SCRIPT))('on a terminal: draws a bar of the rows read, then the same CSV', async () => {
    const result = await onTerminal(['report', 'waiting', '--from', '2026-03-01', '--to', '2026-03-04']);
    expect(result.code, result.stdout).toBe(0);
    const owned = ROWS - ROWS / 10;
    expect(result.stdout).toContain(`reading jobs [`);
    expect(result.stdout).toContain(`${owned}/${owned}`);
    // The terminal turns \n into \r\n; the CSV lines are all there after the bar.
    const csv = (await expectedCsv(80)).trim().split('\n');
    const drawn = result.stdout.replace(/\r/g, '');
    for (const line of csv) expect(drawn).toContain(`${line}\n`);
  });
});

describe('reconcile --once', () => {
  it('piped: prints the summary only; on a terminal: draws the bar of stale jobs checked', async () => {
    const github = await startFakeGitHub();
    const gitlab = await startFakeGitLab();
    const db = await Database.connect(database.url);
    try {
      for (const id of [1, 2, 3, 4]) {
        gitlab.setJob(380, { id: 90_000 + id, tag_list: [], status: 'pending' });
        await db.addJob({
          platform: 'gitlab',
          id: `9000${id}`,
          labels: [],
          createdAt: new Date('2026-11-28T10:00:00Z'),
          startedAt: null,
          completedAt: null,
          raw: { pending: { project_id: 380 } },
        });
      }
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      const forges = {
        GITLAB_URL: gitlab.url,
        GITLAB_TOKEN: gitlab.token,
        GITHUB_API_URL: github.url,
        GITHUB_TOKEN: github.token,
        RECONCILE_STALE_AFTER: '1',
      };
      const piped = await runCli(['reconcile', '--once'], { cwd, env: { ...env, ...forges } });
      expect(piped.code, piped.stderr).toBe(0);
      expect(piped.stderr).toBe('');
      expect(piped.stdout).toMatch(/^redelivered 0 of 0 failed deliveries\nchecked 4 stale jobs: /);
      expect(barLike(piped.stdout)).toBe(false);

      if (!existsSync(SCRIPT)) return;
      // Still pending on GitLab, nothing was written: they are just as stale for the second pass.
      const drawn = await onTerminal(['reconcile', '--once'], forges);
      expect(drawn.code, drawn.stdout).toBe(0);
      expect(drawn.stdout).toContain('reconciling stale [');
      expect(drawn.stdout).toContain('4/4');
      expect(drawn.stdout).toContain('checked 4 stale jobs');
    } finally {
      await db.close();
      await gitlab.close();
      await github.close();
    }
  });
});
