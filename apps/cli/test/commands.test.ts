import { spawn } from 'node:child_process';
import { Database } from '@runner-planner/database';
import { WEBHOOK_QUEUE, workerLink } from '@runner-planner/queue';
import {
  createTestDatabase,
  startFakeGitLab,
  type TestDatabase,
  type TestQueuePrefix,
} from '@runner-planner/testkit';
import { Queue, Worker } from 'bullmq';
import { beforeAll, describe, expect, it } from 'vitest';
import { CLI, cleanEnv, runCli } from './support.js';
import { useCliWorld } from './world.js';

const world = useCliWorld('cli');
const { cli } = world;
let database: TestDatabase;
let queue: TestQueuePrefix;
let cwd: string;
let env: NodeJS.ProcessEnv;
beforeAll(() => {
  ({ database, queue, cwd, env } = world);
});

describe('help and bad arguments', () => {
  it('prints help for every command with exit 0', async () => {
    for (const args of [
      [],
      ['flavor'],
      ['flavor', 'add'],
      ['token', 'create'],
      ['pressure'],
      ['dlq', 'replay'],
      ['report', 'waiting'],
      ['start'],
    ]) {
      const result = await cli(...args, '--help');
      expect(result.code, args.join(' ')).toBe(0);
      expect(result.stdout).toContain('Usage: runner-planner');
    }
  });

  it('rejects unknown commands, options and values with exit 1', async () => {
    const unknown = await cli('frobnicate');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("unknown command 'frobnicate'");
    const platform = await cli('flavor', 'add', 'x', '--platform', 'bitbucket', '--labels', 'a');
    expect(platform.code).toBe(1);
    expect(platform.stderr).toContain('Allowed choices are github, gitlab');
    const missing = await cli('flavor', 'add', 'x', '--platform', 'github');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("required option '--labels <labels>' not specified");
    const priority = await cli(
      'flavor',
      'add',
      'x',
      '--platform',
      'github',
      '--labels',
      'a',
      '--priority',
      'high',
    );
    expect(priority.code).toBe(1);
    expect(priority.stderr).toContain('--priority must be a whole number');
  });

  it('says how to point admin commands at a database when none is known', async () => {
    const result = await runCli(['flavor', 'list'], { env: cleanEnv(), cwd });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('DATABASE_URL is not set and no runner-planner start is running');
  });

  it('says to migrate, without a stack, when the database has no schema', async () => {
    const bare = await createTestDatabase('cli_unmigrated');
    try {
      const result = await runCli(['flavor', 'list'], { env: cleanEnv({ DATABASE_URL: bare.url }), cwd });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(
        'lacks the runner-planner schema or part of it (relation "flavor" does not exist)',
      );
      expect(result.stderr).toContain('run `runner-planner migrate`');
      expect(result.stderr).not.toMatch(/\n\s+at /);
      // The hint is the only change: `migrate` then makes the same command work.
      expect((await runCli(['migrate'], { env: cleanEnv({ DATABASE_URL: bare.url }), cwd })).code).toBe(0);
      expect(
        (await runCli(['flavor', 'list'], { env: cleanEnv({ DATABASE_URL: bare.url }), cwd })).code,
      ).toBe(0);
    } finally {
      await bare.drop();
    }
  });

  it('says a mistyped database does not exist, and creates none', async () => {
    const typo = new URL(database.url);
    typo.pathname = `${typo.pathname}_typo`;
    const missing = `database "${typo.pathname.slice(1)}" does not exist`;
    const result = await runCli(['flavor', 'list'], { env: cleanEnv({ DATABASE_URL: typo.href }), cwd });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(missing);
    expect(result.stderr).toContain('runner-planner never creates a database');
    expect(result.stderr).not.toMatch(/\n\s+at /);
    // Had the first run created it, the second would find it without a schema instead.
    const again = await runCli(['flavor', 'list'], { env: cleanEnv({ DATABASE_URL: typo.href }), cwd });
    expect(again.stderr).toContain(missing);
  });

  it('reconcile says what to configure when no forge API is set, and requires --once', async () => {
    const bare = await cli('reconcile', '--once');
    expect(bare.code).toBe(1);
    expect(bare.stderr).toContain('set GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY');
    expect(bare.stderr).toContain('and/or GITHUB_TOKEN, and/or GITLAB_TOKEN');
    const scheduled = await cli('reconcile');
    expect(scheduled.code).toBe(1);
    expect(scheduled.stderr).toContain('use --once');
  });
});

describe('reconcile --once', () => {
  it('completes a stale job that finished on GitLab, through the real @gitbeaker client', async () => {
    const gitlab = await startFakeGitLab();
    const db = await Database.connect(database.url);
    try {
      gitlab.setJob(380, {
        id: 88_001,
        tag_list: [],
        status: 'success',
        started_at: '2026-11-28T10:01:00Z',
        finished_at: '2026-11-28T10:09:00Z',
      });
      await db.addJob({
        platform: 'gitlab',
        id: '88001',
        labels: [],
        createdAt: new Date('2026-11-28T10:00:00Z'),
        startedAt: null,
        completedAt: null,
        raw: { pending: { project_id: 380, build_id: 88_001 } },
      });
      // Its last event is older than the stale threshold below.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      const result = await runCli(['reconcile', '--once', '--json'], {
        cwd,
        env: { ...env, GITLAB_URL: gitlab.url, GITLAB_TOKEN: gitlab.token, RECONCILE_STALE_AFTER: '1' },
      });
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      const report = JSON.parse(result.stdout);
      expect(report).toMatchObject({ ran: true, stale: { checked: 1, corrected: { completed: 1 } } });
      const [job] = await db.listJobs('gitlab', { withId: '88001' });
      expect(job?.completedAt).toEqual(new Date('2026-11-28T10:09:00Z'));
      expect(gitlab.requests).toContain('/api/v4/projects/380/jobs/88001');
    } finally {
      await db.close();
      await gitlab.close();
    }
  });
});

describe('flavor', () => {
  it('adds, lists, gets, disables, enables and deletes', async () => {
    const added = await cli(
      'flavor',
      'add',
      'large',
      '--platform',
      'github',
      '--labels',
      'X64,large',
      '--priority',
      '5',
      '--json',
    );
    expect(added.code).toBe(0);
    expect(JSON.parse(added.stdout)).toEqual({
      name: 'large',
      platform: 'github',
      labels: ['x64', 'large'],
      priority: 5,
      is_disabled: false,
      minimum_pressure: 0,
    });
    const list = await cli('flavor', 'list', '--json');
    expect(JSON.parse(list.stdout).map((f: { name: string }) => f.name)).toContain('large');
    expect((await cli('flavor', 'list')).stdout).toMatch(/large\s+github/);

    expect((await cli('flavor', 'disable', 'large')).code).toBe(0);
    expect(JSON.parse((await cli('flavor', 'get', 'large', '--json')).stdout)[0].is_disabled).toBe(true);
    expect((await cli('flavor', 'enable', 'large')).code).toBe(0);
    expect(JSON.parse((await cli('flavor', 'get', 'large', '--json')).stdout)[0].is_disabled).toBe(false);
    expect((await cli('flavor', 'delete', 'large')).code).toBe(0);
    const gone = await cli('flavor', 'get', 'large');
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('flavor "large" does not exist');
  });

  it('ends quietly with exit 0 when the reader of its output goes away (| head)', async () => {
    // The reader is gone before the CLI has read the database and written anything.
    const child = spawn(process.execPath, [CLI, 'flavor', 'list'], { env, cwd });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    const code = await new Promise((resolve) => child.on('close', resolve));
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });

  it('refuses a duplicate and unknown flavors', async () => {
    expect((await cli('flavor', 'add', 'dup', '--platform', 'gitlab', '--labels', 'a')).code).toBe(0);
    const duplicate = await cli('flavor', 'add', 'dup', '--platform', 'gitlab', '--labels', 'a');
    expect(duplicate.code).toBe(1);
    expect(duplicate.stderr).toContain('flavor "dup" already exists');
    for (const verb of ['enable', 'disable', 'delete', 'get']) {
      const result = await cli('flavor', verb, 'nope');
      expect(result.code, verb).toBe(1);
      expect(result.stderr).toContain('flavor "nope" does not exist');
    }
  });
});

describe('flavor run_untagged (GitLab)', () => {
  const addGitLab = (name: string, ...args: string[]) =>
    cli('flavor', 'add', name, '--platform', 'gitlab', ...args, '--json');
  const runUntagged = async (name: string, ...args: string[]) => {
    const added = await addGitLab(name, ...args);
    expect(added.stderr).toBe('');
    return JSON.parse(added.stdout).run_untagged;
  };

  it('is set by --run-untagged / --no-run-untagged, else true only without labels', async () => {
    expect(await runUntagged('gl-yes', '--labels', 'docker', '--run-untagged')).toBe(true);
    expect(await runUntagged('gl-no', '--labels', 'docker', '--no-run-untagged')).toBe(false);
    expect(await runUntagged('gl-default', '--labels', 'docker')).toBe(false);
    expect(await runUntagged('gl-bare', '--labels', '')).toBe(true);
    expect(JSON.parse((await cli('flavor', 'get', 'gl-yes', '--json')).stdout)).toEqual([
      {
        name: 'gl-yes',
        platform: 'gitlab',
        labels: ['docker'],
        priority: 0,
        is_disabled: false,
        minimum_pressure: 0,
        run_untagged: true,
      },
    ]);
  });

  it('shows in the table for gitlab flavors, as - for github ones', async () => {
    expect((await cli('flavor', 'add', 'gh-plain', '--platform', 'github', '--labels', 'x')).code).toBe(0);
    expect((await addGitLab('gl-table-yes', '--labels', 'docker', '--run-untagged')).code).toBe(0);
    expect((await addGitLab('gl-table-no', '--labels', 'docker')).code).toBe(0);
    const lines = (await cli('flavor', 'list')).stdout.split('\n');
    expect(lines[0]).toMatch(/^NAME\s+PLATFORM\s+LABELS\s+PRIORITY\s+ENABLED\s+MIN PRESSURE\s+RUN UNTAGGED$/);
    expect(lines).toContainEqual(expect.stringMatching(/^gh-plain\s+github\s+x\s+0\s+yes\s+0\s+-$/));
    expect(lines).toContainEqual(
      expect.stringMatching(/^gl-table-yes\s+gitlab\s+docker\s+0\s+yes\s+0\s+yes$/),
    );
    expect(lines).toContainEqual(expect.stringMatching(/^gl-table-no\s+gitlab\s+docker\s+0\s+yes\s+0\s+no$/));
    const github = JSON.parse((await cli('flavor', 'get', 'gh-plain', '--json')).stdout)[0];
    expect(github).not.toHaveProperty('run_untagged');
  });

  it.each([
    [
      'on a github flavor',
      ['gh-untagged', '--platform', 'github', '--labels', 'x', '--run-untagged'],
      'runner-planner: invalid flavor: runUntagged applies to gitlab flavors only\n',
    ],
    [
      'false on a gitlab flavor without labels',
      ['gl-impossible', '--platform', 'gitlab', '--labels', '', '--no-run-untagged'],
      'runner-planner: invalid flavor: a gitlab flavor without labels takes untagged jobs: runUntagged cannot be false\n',
    ],
  ])('is refused %s, in one line, adding nothing', async (_case, args, message) => {
    const refused = await cli('flavor', 'add', ...args);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(message);
    expect((await cli('flavor', 'get', args[0] as string)).stderr).toContain('does not exist');
  });
});

describe('token', () => {
  it('creates, lists and deletes; refuses duplicates and unknown names', async () => {
    const created = await cli('token', 'create', 'ci', '--json');
    expect(created.code).toBe(0);
    expect(JSON.parse(created.stdout).token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const duplicate = await cli('token', 'create', 'ci');
    expect(duplicate.code).toBe(1);
    expect(duplicate.stderr).toContain('token "ci" already exists');
    expect(JSON.parse((await cli('token', 'list', '--json')).stdout)).toEqual({ names: ['ci'] });
    expect((await cli('token', 'delete', 'ci')).code).toBe(0);
    const again = await cli('token', 'delete', 'ci');
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('token "ci" does not exist');
  });

  it('creates a read-only token with --read-only, and marks it so in the list', async () => {
    expect((await cli('token', 'create', 'reader', '--read-only')).code).toBe(0);
    expect((await cli('token', 'create', 'writer')).code).toBe(0);
    expect((await cli('token', 'list')).stdout).toBe('reader (read-only)\nwriter\n');
    const refused = await cli('token', 'create', 'bad\u001b[2J');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('must not contain control');
    expect(refused.stderr).not.toContain('\u001b[2J');
    for (const name of ['reader', 'writer']) expect((await cli('token', 'delete', name)).code).toBe(0);
  });
});

describe('pressure, jobs and report', () => {
  beforeAll(async () => {
    expect((await cli('flavor', 'add', 'small', '--platform', 'github', '--labels', 'small')).code).toBe(0);
    const db = await Database.connect(database.url);
    try {
      const day = (d: number, h: number) => new Date(Date.UTC(2026, 0, d, h));
      const jobs: [string, Date, Date | null, Date | null, string[]][] = [
        ['1', day(1, 10), null, null, ['small']],
        ['2', day(2, 10), new Date(day(2, 10).getTime() + 10_000), null, ['small']],
        ['3', day(2, 11), new Date(day(2, 11).getTime() + 20_000), null, ['small']],
        // Not owned: no flavor covers it.
        ['4', day(2, 11), new Date(day(2, 11).getTime() + 99_000), null, ['other']],
        // Recent, so it counts toward pressure (the others are older than the staleness window).
        ['5', new Date(), null, null, ['small']],
      ];
      for (const [id, createdAt, startedAt, completedAt, labels] of jobs) {
        await db.addJob({ platform: 'github', id, labels, createdAt, startedAt, completedAt, raw: {} });
      }
      // Completed after it was assigned: still owned.
      await db.updateJobCompleted('github', '3', day(2, 12));
    } finally {
      await db.close();
    }
  });

  it('pressure of every flavor and of one', async () => {
    const all = await cli('pressure', '--json');
    expect(all.code).toBe(0);
    expect(JSON.parse(all.stdout)).toMatchObject({ small: 1 });
    expect(JSON.parse((await cli('pressure', 'small', '--json')).stdout)).toEqual({ small: 1 });
    const unknown = await cli('pressure', 'nope');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('flavor "nope" does not exist');
  });

  it('jobs list and get', async () => {
    const list = JSON.parse((await cli('jobs', 'list', '--platform', 'github', '--json')).stdout);
    expect(list.map((job: { id: string }) => job.id)).toEqual(['1', '2', '3', '4', '5']);
    const job = JSON.parse((await cli('jobs', 'get', 'github', '2')).stdout);
    expect(job).toMatchObject({ id: '2', assigned_flavor: 'small', completed_at: null });
    const missing = await cli('jobs', 'get', 'github', '404');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('job github/404 does not exist');
    expect((await cli('jobs', 'get', 'svn', '1')).code).toBe(1);
  });

  it('report waiting: CSV of owned jobs started in range', async () => {
    const result = await cli(
      'report',
      'waiting',
      '--from',
      '2026-01-01',
      '--to',
      '2026-01-03',
      '--percentile',
      '50',
    );
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('day,platform,jobs,p50_waiting_seconds\n2026-01-02,github,2,15.0\n');
    const bad = await cli('report', 'waiting', '--from', 'yesterday-ish', '--to', '2026-01-03');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('--from must be a date');
    expect((await cli('report', 'waiting', '--from', '2026-01-03', '--to', '2026-01-01')).code).toBe(1);
  });
});

describe('dlq', () => {
  it('lists failed webhook jobs and replays them', async () => {
    // Options, not an ioredis instance: BullMQ then closes the connections it opens.
    const { connection } = workerLink(queue.redisUrl);
    const producer = new Queue(WEBHOOK_QUEUE, { connection, prefix: queue.prefix });
    let fail = true;
    const worker = new Worker(
      WEBHOOK_QUEUE,
      async () => {
        if (fail) throw new Error('boom');
      },
      { connection, prefix: queue.prefix, autorun: false },
    );
    try {
      await producer.add(
        'github',
        { platform: 'github', event: 'workflow_job' },
        { jobId: 'github-d1', attempts: 1 },
      );
      const failed = new Promise((resolve) => worker.once('failed', resolve));
      void worker.run();
      await failed;

      const list = await cli('dlq', 'list', '--json');
      expect(list.code).toBe(0);
      expect(JSON.parse(list.stdout)).toEqual([
        expect.objectContaining({
          id: 'github-d1',
          platform: 'github',
          event: 'workflow_job',
          reason: 'boom',
        }),
      ]);

      const unknown = await cli('dlq', 'replay', 'github-nope');
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toContain('not in the dead-letter queue: github-nope');

      fail = false;
      const completed = new Promise((resolve) => worker.once('completed', resolve));
      const replay = await cli('dlq', 'replay', '--json');
      expect(replay.code).toBe(0);
      expect(JSON.parse(replay.stdout)).toEqual({ replayed: 1, missing: [] });
      await completed;
      expect(JSON.parse((await cli('dlq', 'list', '--json')).stdout)).toEqual([]);
    } finally {
      await worker.close();
      await producer.close();
    }
  });
});
